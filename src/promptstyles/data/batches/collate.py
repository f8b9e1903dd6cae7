"""The collator: one engine for end-of-text, padding, shifting, masking and truncation, for every style.

Reference semantics by default: append one end-of-text id to each example, pad with ``pad_token_id`` to the
batch's longest length + 1, ``inputs = padded[:-1]``, ``targets = padded[1:]``, every padding target after
the end-of-text becomes ``ignore_index``, then truncate to ``allowed_max_length``. Mask modes set the
targets of untrained tokens to ``ignore_index`` from the dataset's part boundaries; the end-of-text target
is always trained. Batches are built with a few array operations, never a loop over tokens.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from ...errors import DataError
from ..arrays import block_offsets, concat_ranges
from ..modes import MASK_MODES, TRUNCATION_POLICIES, MaskMode, TruncationPolicy
from ..tokenized import IndexBatch, TokenizedDataset

__all__ = ["Batch", "Collator"]

_ROW_COPY_WIDTH = 128
"""From this many columns on, copying row slices is faster than gathering every cell."""


class Batch:
    """A training batch; unpacks as ``inputs, targets = batch`` like the reference.

    ``attention_mask`` (1 for tokens and the appended end-of-text) and ``response_mask`` (True where the
    target is a token of the final response's own text) are set when the collator was asked for them.
    Packed batches (``data/batches/packed.py``) also carry ``position_ids`` (restarting at 0 for each example) and
    ``cu_seqlens`` (int32 boundaries of the sequences in the flattened batch, as varlen attention takes them).
    """

    __slots__ = ("attention_mask", "cu_seqlens", "inputs", "position_ids", "response_mask", "targets")
    _TENSORS = ("inputs", "targets", "attention_mask", "response_mask", "position_ids", "cu_seqlens")

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor, attention_mask: torch.Tensor | None = None,
                 response_mask: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                 cu_seqlens: torch.Tensor | None = None) -> None:
        self.inputs = inputs
        self.targets = targets
        self.attention_mask = attention_mask
        self.response_mask = response_mask
        self.position_ids = position_ids
        self.cu_seqlens = cu_seqlens

    def __iter__(self) -> Iterator[torch.Tensor]:
        yield self.inputs
        yield self.targets

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> torch.Tensor:
        return (self.inputs, self.targets)[index]

    def __reduce__(self):
        return (Batch, tuple(getattr(self, name) for name in self._TENSORS))

    def _map(self, function: Any) -> Batch:
        inputs, targets, *rest = (None if t is None else function(t) for t in (getattr(self, n) for n in self._TENSORS))
        assert inputs is not None and targets is not None
        return Batch(inputs, targets, *rest)

    def to(self, device: str | torch.device, non_blocking: bool = False) -> Batch:
        return self._map(lambda tensor: tensor.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> Batch:
        return self._map(lambda tensor: tensor.pin_memory())

    def __repr__(self) -> str:
        return f"Batch(inputs={tuple(self.inputs.shape)}, targets={tuple(self.targets.shape)})"


class Collator:
    """Turns a batch of examples into padded, shifted, masked tensors.

    Accepts what ``TokenizedDataset.batch`` returns (fast path, all mask modes) or, like the
    reference ``custom_collate_fn``, a list of token-id sequences (mask ``none`` only). Picklable, so it
    works with ``num_workers > 0``.
    """

    def __init__(
        self,
        *,
        pad_token_id: int = 50256,
        eos_token_id: int | None = None,
        ignore_index: int = -100,
        allowed_max_length: int | None = None,
        mask: MaskMode = "none",
        truncation: TruncationPolicy = "reference",
        pad_to_multiple_of: int | None = None,
        attention_mask: bool = False,
        response_mask: bool = False,
        device: str | torch.device | None = None,
        train_reasoning: bool = True,
    ) -> None:
        if mask not in MASK_MODES:
            raise DataError(f"unknown mask mode {mask!r}; expected one of {', '.join(MASK_MODES)}")
        if truncation not in TRUNCATION_POLICIES:
            known = ", ".join(TRUNCATION_POLICIES)
            raise DataError(f"unknown truncation policy {truncation!r}; expected one of {known}")
        self.pad_token_id = pad_token_id
        self.eos_token_id: int = pad_token_id if eos_token_id is None else eos_token_id
        self.ignore_index = ignore_index
        self.allowed_max_length = allowed_max_length
        self.mask = mask
        self.truncation = truncation
        self.pad_to_multiple_of = pad_to_multiple_of
        self.attention_mask = attention_mask
        self.response_mask = response_mask
        self.train_reasoning = train_reasoning
        self.device = None if device in (None, "cpu") else device

    def __call__(self, batch: IndexBatch | Sequence[Sequence[int]]) -> Batch:
        if isinstance(batch, IndexBatch):
            dataset, indices = batch
            if not len(indices):
                raise DataError("cannot collate an empty batch")
            return self._collate(*dataset.locate(indices), dataset.eos_id, dataset, indices)
        return self._collate_sequences(batch)

    def _collate_sequences(self, batch: Sequence[Sequence[int]]) -> Batch:
        if not len(batch):
            raise DataError("cannot collate an empty batch")
        if self.mask != "none" or self.response_mask:
            raise DataError(
                f"mask {self.mask!r} needs the part boundaries of a TokenizedDataset; pass the dataset's batches "
                "(DataLoader over the dataset, or dataset.batch(indices)) rather than bare token lists"
            )
        eos = np.array([self.eos_token_id], dtype=np.int64)
        arrays = [np.asarray(item, dtype=np.int64).reshape(-1) for item in batch]
        lengths = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays))
        starts = block_offsets(lengths + 1)[:-1]
        tokens = np.concatenate([piece for array in arrays for piece in (array, eos)])
        return self._collate(tokens, starts, lengths, self.eos_token_id, None, None)

    def _positions(self, count: int) -> np.ndarray:
        """``arange(count)``, sliced from a cached array: batches reuse it instead of allocating."""
        cached = self.__dict__.get("_arange")
        if cached is None or len(cached) < count:
            cached = np.arange(max(count, 2 * len(cached) if cached is not None else 1024))
            self.__dict__["_arange"] = cached
        return cached[:count]

    def _collate(
        self, tokens: np.ndarray, starts: np.ndarray, lengths: np.ndarray, buffer_eos: int,
        dataset: TokenizedDataset | None, indices: np.ndarray | None,
    ) -> Batch:
        """Pad, shift and mask; ``tokens`` holds each example followed by one ``buffer_eos`` id."""
        inputs, targets, lengths, response = self._padded(tokens, starts, lengths, buffer_eos, dataset, indices)
        batch = Batch(torch.from_numpy(inputs), torch.from_numpy(targets))
        if self.attention_mask:
            positions = self._positions(inputs.shape[1])
            batch.attention_mask = torch.from_numpy((positions <= lengths[:, None]).astype(np.int64))
        if response is not None:
            batch.response_mask = torch.from_numpy(response)
        if self.device is not None:
            batch = batch.to(self.device)
        return batch

    def _padded(
        self, tokens: np.ndarray, starts: np.ndarray, lengths: np.ndarray, buffer_eos: int,
        dataset: TokenizedDataset | None, indices: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Padded, shifted, masked ``inputs`` and ``targets``, the lengths after ``keep_eos`` cuts, and the
        response mask when asked for: the arrays behind every batch, padded or packed."""
        limit = self.allowed_max_length
        lengths = lengths.astype(np.int64)
        longest = int(lengths.max())
        cut = limit is not None and self.truncation == "keep_eos" and longest > limit
        if cut and limit is not None:
            lengths = np.minimum(lengths, limit)
            longest = limit
        input_width = longest
        if self.pad_to_multiple_of:
            input_width = -(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of
        width = input_width if limit is None or limit >= input_width else limit  # columns of inputs and targets

        target_positions = self._positions(width)
        column = lengths[:, None]
        plain = not cut and buffer_eos == self.eos_token_id == self.pad_token_id
        if plain and width >= _ROW_COPY_WIDTH:
            inputs, targets = self._copy_rows(tokens, starts, lengths, width)
        else:
            inputs, targets = self._gather(tokens, starts, column, width, fix_eos=not plain)
        if self.mask != "none":
            trained = self._trained(dataset, indices, self.mask, lengths, target_positions,
                                    train_reasoning=self.train_reasoning)
            np.putmask(targets, ~trained, self.ignore_index)

        response = None
        if self.response_mask:
            scored = self._trained(dataset, indices, "response_text", lengths, target_positions, eos=False)
            response = scored & (target_positions < column - 1)
        return inputs, targets, lengths, response

    def _gather(
        self, tokens: np.ndarray, starts: np.ndarray, column: np.ndarray, width: int, *, fix_eos: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Short batches: one gather of ``min(start + position, start + length)`` per cell.

        Positions past an example's end read the end-of-text slot that follows it, so with the default pad
        (= end-of-text) the gather alone builds the reference's padded rows.
        """
        positions = self._positions(width + 1)
        gather = starts[:, None] + positions
        np.minimum(gather, starts[:, None] + column, out=gather)
        padded = tokens[gather].astype(np.int64)
        if fix_eos:
            padded[positions == column] = self.eos_token_id
            padded[positions > column] = self.pad_token_id
        targets = padded[:, 1:].copy()
        np.putmask(targets, positions[:width] >= column, self.ignore_index)
        return np.ascontiguousarray(padded[:, :width]), targets

    def _copy_rows(
        self, tokens: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Long batches: two slice copies per row beat a gather over every cell."""
        rows = len(lengths)
        inputs = np.full((rows, width), self.pad_token_id, dtype=np.int64)
        targets = np.full((rows, width), self.ignore_index, dtype=np.int64)
        for row, (start, length) in enumerate(zip(starts.tolist(), lengths.tolist(), strict=True)):
            shown = length + 1 if length < width else width  # the stored end-of-text comes along
            inputs[row, :shown] = tokens[start : start + shown]
            kept = length if length < width else width
            targets[row, :kept] = tokens[start + 1 : start + 1 + kept]
        return inputs, targets

    @staticmethod
    def _trained(
        dataset: TokenizedDataset | None, indices: np.ndarray | None, mode: str, lengths: np.ndarray,
        target_positions: np.ndarray, *, eos: bool = True, train_reasoning: bool = True,
    ) -> np.ndarray:
        """Which targets (by position) are trained: target ``j`` predicts token ``j + 1``."""
        assert dataset is not None and indices is not None
        spans = dataset.spans(mode, train_reasoning=train_reasoning)
        column = lengths[:, None]
        if spans.single_to_end:
            first = spans.starts[spans.offsets[indices]]
            trained = target_positions + 1 >= first[:, None]
        else:
            first = spans.offsets[indices]
            counts = spans.offsets[indices + 1] - first
            which = concat_ranges(first, counts)
            rows = np.repeat(np.arange(len(indices)), counts)
            width = len(target_positions)
            marks = np.zeros((len(indices), width + 2), dtype=np.int32)
            np.add.at(marks, (rows, np.minimum(spans.starts[which], width + 1)), 1)
            np.add.at(marks, (rows, np.minimum(spans.ends[which], width + 1)), -1)
            trained = np.cumsum(marks, axis=1)[:, 1 : width + 1] > 0
        if eos:
            trained |= target_positions == column - 1
        return trained

    @classmethod
    def from_config(cls, config: Any, *, eos_token_id: int, **overrides: Any) -> Collator:
        """A collator from a ``CollateConfig``; the pad id defaults to the tokenizer's end-of-text id."""
        options = dict(
            pad_token_id=eos_token_id if config.pad_token_id is None else config.pad_token_id,
            eos_token_id=eos_token_id,
            ignore_index=config.ignore_index,
            allowed_max_length=config.allowed_max_length,
            mask=config.mask,
            truncation=config.truncation,
            pad_to_multiple_of=config.pad_to_multiple_of,
            attention_mask=config.attention_mask,
            device=config.device,
            train_reasoning=config.train_reasoning,
        )
        options.update(overrides)
        return cls(**options)

    def __repr__(self) -> str:
        return (f"Collator(mask={self.mask!r}, pad={self.pad_token_id}, eos={self.eos_token_id}, "
                f"ignore_index={self.ignore_index}, allowed_max_length={self.allowed_max_length})")
