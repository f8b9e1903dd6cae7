"""The pair collator: chosen and rejected rows of preference pairs, padded together, masked from parts.

For pairs ``[(prompt p, chosen c, rejected r)]`` it returns (with ``e`` the end-of-text, ``_`` the pad id)::

    chosen_input_ids   [p p c c e _]      rejected_input_ids   [p p r e _ _]
    chosen_labels      [- - c c e -]      rejected_labels      [- - r e - -]    (- is ignore_index)
    chosen_attention_mask [1 1 1 1 1 0]   rejected_attention_mask [1 1 1 1 0 0]
    prompt_length      [2]

Labels are not shifted (the Hugging Face convention: a model or loss shifts them); which tokens are trained
follows the mask mode from the part runs, as for SFT, and each row's end-of-text is trained. Both rows of a
pair are cut alike: ``keep_start`` keeps the prompt and the first tokens of each completion, ``keep_end``
keeps both completions whole and drops the same leading prompt tokens from both.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...errors import DataError
from ..arrays import concat_ranges
from ..modes import MASK_MODES, MaskMode
from ..pairs import TRUNCATION_MODES, PairIndexBatch, TruncationMode, pair_cuts

__all__ = ["PairBatch", "PairCollator"]


class PairBatch(dict):
    """A dict of tensors (what Hugging Face trainers take) that moves to a device like our batches do."""

    def to(self, device: str | torch.device, non_blocking: bool = False) -> PairBatch:
        return PairBatch({key: value.to(device, non_blocking=non_blocking) for key, value in self.items()})


class PairCollator:
    """Turns what ``PairDataset.batch`` returns into a :class:`PairBatch`; picklable, stateless per call."""

    def __init__(
        self, *, pad_token_id: int = 50256, eos_token_id: int | None = None, ignore_index: int = -100,
        allowed_max_length: int | None = None, mask: MaskMode = "prompt",
        truncation_mode: TruncationMode = "keep_start", pad_to_multiple_of: int | None = None,
        train_reasoning: bool = True,
    ) -> None:
        if mask not in MASK_MODES:
            raise DataError(f"unknown mask mode {mask!r}; expected one of {', '.join(MASK_MODES)}")
        if truncation_mode not in TRUNCATION_MODES:
            raise DataError(f"unknown truncation_mode {truncation_mode!r}; expected one of "
                            f"{', '.join(TRUNCATION_MODES)}")
        self.pad_token_id = pad_token_id
        self.eos_token_id = eos_token_id
        self.ignore_index = ignore_index
        self.allowed_max_length = allowed_max_length
        self.mask = mask
        self.truncation_mode = truncation_mode
        self.pad_to_multiple_of = pad_to_multiple_of
        self.train_reasoning = train_reasoning
        """False leaves a completion's reasoning (and its markup) untrained, as for instruction data."""

    def __call__(self, batch: PairIndexBatch) -> PairBatch:
        dataset, indices = batch
        if not len(indices):
            raise DataError("cannot collate an empty batch")
        examples = dataset.examples
        rows = dataset.rows(indices)
        count = len(indices)
        lengths = examples.lengths[rows].astype(np.int64) + 1  # each row ends with one end-of-text
        prompt = dataset.prompt_lengths[indices].astype(np.int64)
        cut, overlong = pair_cuts(prompt, lengths[:count], lengths[count:], self.allowed_max_length,
                                  self.truncation_mode)
        if overlong.any():
            pair = int(examples.positions[rows[int(np.flatnonzero(overlong)[0])]]) // 2
            raise DataError(f"pair {pair} does not fit allowed_max_length={self.allowed_max_length}: its prompt "
                            "leaves no completion token; drop such pairs first (PairDataset.fit, or "
                            "collate.drop_overlong: true)")
        cut = np.tile(cut, 2)
        kept = lengths - cut
        if self.allowed_max_length is not None:
            kept = np.minimum(kept, self.allowed_max_length)
        width = int(kept.max())
        if self.pad_to_multiple_of:
            width = -(-width // self.pad_to_multiple_of) * self.pad_to_multiple_of
        positions = np.arange(width)
        starts = examples.starts[rows].astype(np.int64)
        source = np.minimum(starts[:, None] + cut[:, None] + positions, (starts + lengths - 1)[:, None])
        ids = examples.tokens[source].astype(np.int64)
        eos = examples.eos_id if self.eos_token_id is None else self.eos_token_id
        ids[positions == (lengths - 1 - cut)[:, None]] = eos
        valid = positions < kept[:, None]
        ids[~valid] = self.pad_token_id
        spans = examples.spans(self.mask, train_reasoning=self.train_reasoning)
        trained = self._trained(spans, rows, cut, lengths, width)
        labels = np.where(trained, ids, self.ignore_index)
        attention = valid.astype(np.int64)
        out = PairBatch()
        for name, block in (("chosen", slice(0, count)), ("rejected", slice(count, 2 * count))):
            out[f"{name}_input_ids"] = torch.from_numpy(np.ascontiguousarray(ids[block]))
            out[f"{name}_attention_mask"] = torch.from_numpy(np.ascontiguousarray(attention[block]))
            out[f"{name}_labels"] = torch.from_numpy(np.ascontiguousarray(labels[block]))
        out["prompt_length"] = torch.from_numpy(prompt - cut[:count])
        return out

    @staticmethod
    def _trained(spans: Any, rows: np.ndarray, cut: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
        """Trained positions per row: the mask mode's spans, moved left by the row's cut, and the end-of-text."""
        first = spans.offsets[rows]
        counts = spans.offsets[rows + 1] - first
        which = concat_ranges(first, counts)
        owner = np.repeat(np.arange(len(rows)), counts)
        marks = np.zeros((len(rows), width + 1), dtype=np.int32)
        np.add.at(marks, (owner, np.clip(spans.starts[which] - cut[owner], 0, width)), 1)
        np.add.at(marks, (owner, np.clip(spans.ends[which].astype(np.int64) - cut[owner], 0, width)), -1)
        trained = np.cumsum(marks, axis=1)[:, :width] > 0
        trained[np.arange(len(rows)), np.minimum(lengths - 1 - cut, width - 1)] |= lengths - 1 - cut < width
        return trained

    def __repr__(self) -> str:
        return (f"PairCollator(mask={self.mask!r}, pad={self.pad_token_id}, truncation_mode={self.truncation_mode!r}, "
                f"allowed_max_length={self.allowed_max_length})")
