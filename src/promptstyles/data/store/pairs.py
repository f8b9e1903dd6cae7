"""Preference pairs through the token store: tokenized once, memory-mapped after.

A pair dataset is an ordinary tokenized dataset (chosen and rejected records in turn), so it is stored under
the key of those records, style and tokenizer like any other.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from ...styles._base import Style
from ..build.pairs import pair_records
from ..build.parallel import NumProc
from ..build.tokenize import tokenize_records
from ..modes import SpecialTokensMode
from ..pairs import PairDataset
from ..tokenizers.protocol import Tokenizer
from .cache import dataset_key, load_dataset, save_dataset

__all__ = ["stored_pair_entry", "stored_pairs"]

logger = logging.getLogger(__name__)


def stored_pairs(
    pairs: Sequence[Any], style: Style, tokenizer: Tokenizer, *, special_tokens: SpecialTokensMode = "text",
    directory: str | os.PathLike[str] | None = None, source: str | None = None,
) -> PairDataset:
    """The pair dataset of ``pairs`` from the store (``directory``, else the cache folder), built and stored
    when missing."""
    return stored_pair_entry(pairs, style, tokenizer, special_tokens=special_tokens, directory=directory,
                             source=source)[0]


def stored_pair_entry(
    pairs: Sequence[Any], style: Style, tokenizer: Tokenizer, *, special_tokens: SpecialTokensMode = "text",
    directory: str | os.PathLike[str] | None = None, source: str | None = None, num_proc: NumProc = 1,
) -> tuple[PairDataset, str, bool]:
    """:func:`stored_pairs`, with the store key and whether the entry was found rather than built, so that a
    command can say where the tokens are."""
    records = pair_records(pairs, source=source)
    key = dataset_key(records, style, tokenizer, special_tokens)
    examples = load_dataset(key, directory)
    found = examples is not None
    if examples is None:
        examples = tokenize_records(records, style, tokenizer, special_tokens=special_tokens, source=source,
                                    num_proc=num_proc)
        info = {"style": style.name, "tokenizer": tokenizer.name, "source": source, "pairs": len(records) // 2}
        save_dataset(examples, key, directory, info)
    else:
        logger.info("%d preference pairs loaded from the store (%s)", len(records) // 2, key)
    return PairDataset(examples), key, found
