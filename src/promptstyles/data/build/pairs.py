"""Preference pairs to a :class:`PairDataset`: both records of every pair through the one build path.

The chosen and rejected records go to the encoder in turn (``c0, r0, c1, r1, ...``), so each is rendered
and tokenized exactly like an instruction example, and the result is an ordinary dataset the store keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ...errors import DataError
from ...preferences import LabelledCompletion, PreferencePair, to_labelled_completion, to_preference_pair
from ...records import Record
from ...styles._base import Style
from ..modes import SpecialTokensMode
from ..tokenizers.protocol import Tokenizer
from .parallel import NumProc
from .tokenize import tokenize_records

if TYPE_CHECKING:
    import numpy as np

    from ..pairs import PairDataset
    from ..tokenized import TokenizedDataset

__all__ = ["pair_records", "tokenize_labelled", "tokenize_pairs"]


def pair_records(pairs: Sequence[Any], *, source: str | None = None) -> list[Record]:
    """Each pair normalised (see :func:`~promptstyles.preferences.to_preference_pair`), as chosen and rejected
    records in turn: what the encoder and the store take."""
    records: list[Record] = []
    for index, raw in enumerate(pairs):
        pair: PreferencePair = to_preference_pair(raw, index=index, source=source)
        records += (pair.chosen, pair.rejected)
    return records


def tokenize_pairs(
    pairs: Sequence[Any], style: Style, tokenizer: Tokenizer, *, special_tokens: SpecialTokensMode = "text",
    source: str | None = None, num_proc: NumProc = 1,
) -> PairDataset:
    """Render and tokenize preference pairs (raw records of any shape :mod:`promptstyles.preferences` reads)."""
    from ..pairs import PairDataset

    if not len(pairs):
        raise DataError(f"{source or 'dataset'}: no preference pairs to tokenize")
    records = pair_records(pairs, source=source)
    return PairDataset(tokenize_records(records, style, tokenizer, special_tokens=special_tokens, source=source,
                                        num_proc=num_proc))


def tokenize_labelled(
    examples: Sequence[Any], style: Style, tokenizer: Tokenizer, *, special_tokens: SpecialTokensMode = "text",
    source: str | None = None,
) -> tuple[TokenizedDataset, np.ndarray]:
    """KTO's unpaired examples: the dataset of their records and a bool array, True where desirable."""
    import numpy as np

    labelled: list[LabelledCompletion] = [to_labelled_completion(raw, index=index, source=source)
                                          for index, raw in enumerate(examples)]
    if not labelled:
        raise DataError(f"{source or 'dataset'}: no labelled completions to tokenize")
    dataset = tokenize_records([item.record for item in labelled], style, tokenizer, special_tokens=special_tokens,
                               source=source)
    return dataset, np.array([item.desirable for item in labelled], dtype=bool)
