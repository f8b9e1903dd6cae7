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
from ..build.tokenize import tokenize_records
from ..modes import SpecialTokensMode
from ..pairs import PairDataset
from ..tokenizers.protocol import Tokenizer
from .cache import dataset_key, load_dataset, save_dataset

__all__ = ["stored_pairs"]

logger = logging.getLogger(__name__)


def stored_pairs(
    pairs: Sequence[Any], style: Style, tokenizer: Tokenizer, *, special_tokens: SpecialTokensMode = "text",
    directory: str | os.PathLike[str] | None = None, source: str | None = None,
) -> PairDataset:
    """The pair dataset of ``pairs`` from the store (``directory``, else the cache folder), built and stored
    when missing."""
    records = pair_records(pairs, source=source)
    key = dataset_key(records, style, tokenizer, special_tokens)
    examples = load_dataset(key, directory)
    if examples is None:
        examples = tokenize_records(records, style, tokenizer, special_tokens=special_tokens, source=source)
        save_dataset(examples, key, directory, {"pairs": len(records) // 2})
    else:
        logger.info("%d preference pairs loaded from the store (%s)", len(records) // 2, key)
    return PairDataset(examples)
