"""The pair dataset: preference pairs as an ordinary tokenized dataset, chosen and rejected side by side.

Pair ``i`` is examples ``2 i`` (chosen) and ``2 i + 1`` (rejected) of one :class:`TokenizedDataset`, so the
store keeps pairs like any dataset, without a format of its own. Each pair's prompt length is where the
final assistant turn's text starts (the generation prompt, header included), read from the part runs; the
two rows must hold the same prompt ids, which is checked once when the dataset is made.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from ..errors import DataError
from .masks import HEADER
from .modes import TRUNCATION_MODES, TruncationMode
from .tokenized import TokenizedDataset

__all__ = ["TRUNCATION_MODES", "PairDataset", "PairIndexBatch", "TruncationMode", "pair_cuts"]

logger = logging.getLogger(__name__)


class PairIndexBatch(NamedTuple):
    """What the pair dataset hands the pair collator: the dataset and the pair indices."""

    dataset: PairDataset
    indices: np.ndarray


def _prompt_lengths(examples: TokenizedDataset) -> np.ndarray:
    """Tokens before the final assistant turn's text: the end of each example's last header run."""
    count = len(examples)
    example = np.repeat(np.arange(count), np.diff(examples.run_offsets))
    last_header = np.full(count, -1, dtype=np.int64)
    is_header = examples.run_kinds == HEADER
    np.maximum.at(last_header, example[is_header], np.flatnonzero(is_header))
    if np.any(last_header < 0):
        raise DataError(f"example {int(np.flatnonzero(last_header < 0)[0])} has no assistant turn to compare")
    return examples.run_ends[last_header].astype(np.int64)


def pair_cuts(
    prompt: np.ndarray, chosen: np.ndarray, rejected: np.ndarray, limit: int | None, mode: TruncationMode,
) -> tuple[np.ndarray, np.ndarray]:
    """Per pair: how many leading tokens to drop (``keep_end``) and whether the pair cannot fit ``limit``.

    Lengths count the appended end-of-text. A pair does not fit when its prompt leaves no room for a
    completion token (``keep_start``) or its longer completion alone fills the limit (``keep_end``).
    """
    if mode not in TRUNCATION_MODES:
        raise DataError(f"unknown truncation_mode {mode!r}; expected one of {', '.join(TRUNCATION_MODES)}")
    if limit is None:
        return np.zeros(len(prompt), dtype=np.int64), np.zeros(len(prompt), dtype=bool)
    if mode == "keep_start":
        return np.zeros(len(prompt), dtype=np.int64), prompt >= limit
    longest = np.maximum(chosen, rejected)
    return np.maximum(longest - limit, 0), longest - prompt >= limit


class PairDataset(torch.utils.data.Dataset):
    """Preference pairs over one :class:`TokenizedDataset`; ``len`` counts pairs, ``pairs[i]`` is a dict of ids."""

    def __init__(self, examples: TokenizedDataset, *, check: bool = True) -> None:
        if len(examples) % 2:
            raise DataError(f"a pair dataset holds chosen and rejected rows in turn; got {len(examples)} examples")
        self.examples = examples
        lengths = _prompt_lengths(examples)
        self.prompt_lengths = lengths[0::2]
        if check:
            self._check(lengths)

    def _check(self, lengths: np.ndarray) -> None:
        """Invariant 12: chosen and rejected share one prompt, token for token, and each has a completion."""
        examples = self.examples
        for pair in range(len(self)):
            chosen, rejected, prompt = 2 * pair, 2 * pair + 1, int(lengths[2 * pair])
            if lengths[rejected] != prompt or not np.array_equal(examples[chosen][:prompt],
                                                                 examples[rejected][:prompt]):
                raise DataError(f"pair {self._name(pair)}: the chosen and rejected rows tokenize their shared prompt "
                                "differently (a token straddles the prompt and the answer); pick a style whose "
                                "response header ends on a token boundary")
        empty = np.flatnonzero(examples.lengths <= lengths)
        if len(empty):
            raise DataError(f"pair {self._name(int(empty[0]) // 2)}: a completion holds no token of its "
                            "own after the prompt")

    def _name(self, pair: int) -> int:
        """The position of pair ``pair`` in the records it was built from (kept through ``select``)."""
        return int(self.examples.positions[2 * pair]) // 2

    def __len__(self) -> int:
        return len(self.examples) // 2

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        """Pair ``index`` as TRL's tokenized preference rows: ``prompt_ids``, ``chosen_ids``, ``rejected_ids``."""
        prompt = int(self.prompt_lengths[index])
        chosen, rejected = self.examples[2 * index].tolist(), self.examples[2 * index + 1].tolist()
        return {"prompt_ids": chosen[:prompt], "chosen_ids": chosen[prompt:], "rejected_ids": rejected[prompt:]}

    def batch(self, indices: Sequence[int] | np.ndarray) -> PairIndexBatch:
        return PairIndexBatch(self, np.asarray(indices, dtype=np.int64))

    __getitems__ = batch

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """The example indices of pairs ``indices``: chosen rows first, then rejected rows."""
        return np.concatenate([2 * indices, 2 * indices + 1])

    def select(self, indices: Sequence[int] | np.ndarray) -> PairDataset:
        """Some pairs, sharing the token buffer (splits, dropping pairs that do not fit)."""
        indices = np.asarray(indices, dtype=np.int64)
        pairs = np.stack([2 * indices, 2 * indices + 1], axis=1).reshape(-1)
        subset = PairDataset.__new__(PairDataset)
        subset.examples = self.examples.select(pairs)
        subset.prompt_lengths = self.prompt_lengths[indices]
        return subset

    def fit(self, allowed_max_length: int | None, truncation_mode: TruncationMode = "keep_start", *,
            drop_overlong: bool = False) -> tuple[PairDataset, int]:
        """The pairs that fit ``allowed_max_length`` and how many were dropped; without ``drop_overlong`` a pair
        that cannot fit is a :class:`DataError` naming it (never a row with an empty completion)."""
        lengths = self.examples.lengths.astype(np.int64) + 1
        _cut, overlong = pair_cuts(self.prompt_lengths, lengths[0::2], lengths[1::2], allowed_max_length,
                                   truncation_mode)
        if not overlong.any():
            return self, 0
        first = int(np.flatnonzero(overlong)[0])
        if not drop_overlong:
            raise DataError(
                f"pair {self._name(first)}: its prompt of {int(self.prompt_lengths[first])} "
                f"tokens leaves no completion token within collate.allowed_max_length={allowed_max_length} "
                f"(truncation_mode {truncation_mode}); raise the limit, or set collate.drop_overlong: true to drop "
                "such pairs")
        dropped = int(overlong.sum())
        logger.warning("dropped %d of %d preference pairs that do not fit allowed_max_length=%d", dropped, len(self),
                       allowed_max_length)
        if dropped == len(self):
            raise DataError(f"every preference pair is longer than collate.allowed_max_length={allowed_max_length}")
        return self.select(np.flatnonzero(~overlong)), dropped

    def __repr__(self) -> str:
        return f"PairDataset({len(self)} pairs)"
