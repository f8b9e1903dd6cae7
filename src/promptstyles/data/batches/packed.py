"""Packed collation: the examples of each row laid end to end, with no attention from one to the next.

An example of ``L`` tokens takes ``min(L, row_length)`` places, and in them exactly the inputs and targets
the padded collator gives it (shifted ids, its end-of-text target, masked by the same spans and cut by the
same truncation policy): the padded collator builds them, this module only moves the real cells into rows.
So no target ever crosses from one example into the next. Two examples of 3 and 2 tokens,
``[a b c]`` and ``[d e]``, in a row of 8 (``E`` end-of-text, ``P`` pad, ``-`` ignored)::

    inputs        a b c d e P P P
    targets       b c E e E - - -
    position_ids  0 1 2 0 1 0 1 2
    cu_seqlens    [0, 3, 5, 8]      (over the batch flattened row after row, int32)

The padding at the end of a row is a sequence of its own (positions from 0, its own ``cu_seqlens``
entry), so it never attends to a real token, and nothing attends to it. ``block_causal_mask`` turns the
position ids into the boolean mask SDPA takes; varlen kernels take ``cu_seqlens`` directly.
"""

from __future__ import annotations

import numpy as np
import torch

from ...errors import DataError
from ..arrays import concat_ranges
from ..tokenized import IndexBatch
from .collate import Batch, Collator

__all__ = ["PackedCollator", "block_causal_mask", "segment_ids"]

_CHUNK = 64
"""Examples padded together at a time, shortest with shortest, so the padded scratch stays near their size."""


class PackedCollator:
    """Rows of packed examples from a :class:`~promptstyles.data.batches.packing.PackedBatchSampler` batch.

    Takes an ``IndexBatch`` whose indices are ``(row, example)`` pairs and returns a ``Batch`` of
    ``(rows, row_length)`` inputs and targets, ``position_ids``, ``cu_seqlens`` and, when ``collator`` is asked
    for it, the response mask. It has no attention mask: the position ids say where each example starts.
    """

    def __init__(self, collator: Collator, row_length: int) -> None:
        if collator.allowed_max_length is not None and collator.allowed_max_length < row_length:
            raise DataError(f"the row length {row_length} exceeds the collator's allowed_max_length "
                            f"{collator.allowed_max_length}")
        self.collator = collator
        self.row_length = row_length

    def __call__(self, batch: IndexBatch) -> Batch:
        dataset, pairs = batch
        if pairs.ndim != 2 or not len(pairs):
            raise DataError("a packed batch takes (row, example) index pairs from a PackedBatchSampler")
        rows, indices = pairs[:, 0], pairs[:, 1]
        width, collator = self.row_length, self.collator
        count = int(rows.max()) + 1
        kept = np.minimum(dataset.plain("lengths")[indices].astype(np.int64), width)
        ends = np.cumsum(kept)
        row_ends = np.zeros(count, dtype=np.int64)
        np.maximum.at(row_ends, rows, ends)
        used = np.diff(row_ends, prepend=0)
        if used.max() > width:
            raise DataError(f"a packed row holds {int(used.max())} tokens, more than its length {width}")
        starts = rows * width + ends - kept - (row_ends - used)[rows]  # flat place of each example's first token
        inputs = np.full(count * width, collator.pad_token_id, dtype=np.int64)
        targets = np.full(count * width, collator.ignore_index, dtype=np.int64)
        response = np.zeros(count * width, dtype=bool) if collator.response_mask else None
        by_length = np.argsort(kept, kind="stable")
        for chunk in np.split(by_length, range(_CHUNK, len(by_length), _CHUNK)):
            chosen = indices[chunk]
            padded = collator._padded(*dataset.locate(chosen), dataset.eos_id, dataset, chosen)
            real = np.arange(padded[0].shape[1]) < kept[chunk, None]
            places = (starts[chunk, None] + np.arange(padded[0].shape[1]))[real]
            inputs[places], targets[places] = padded[0][real], padded[1][real]
            if response is not None and padded[3] is not None:
                response[places] = padded[3][real]
        tails = np.flatnonzero(used < width) * width + used[used < width]
        bounds = np.unique(np.concatenate([starts, tails, [count * width]])).astype(np.int32)
        flat_positions = concat_ranges(np.zeros(len(bounds) - 1, dtype=np.int64), np.diff(bounds))  # 0.. per sequence
        packed = Batch(torch.from_numpy(inputs.reshape(count, width)), torch.from_numpy(targets.reshape(count, width)),
                       position_ids=torch.from_numpy(flat_positions.reshape(count, width)),
                       cu_seqlens=torch.from_numpy(bounds))
        if response is not None:
            packed.response_mask = torch.from_numpy(response.reshape(count, width))
        return packed if collator.device is None else packed.to(collator.device)

    def __repr__(self) -> str:
        return f"PackedCollator(row_length={self.row_length}, {self.collator!r})"


def segment_ids(position_ids: torch.Tensor) -> torch.Tensor:
    """Which sequence of its row each place belongs to: a new one starts wherever the position is 0."""
    return torch.cumsum((position_ids == 0).to(torch.int64), dim=-1)


def block_causal_mask(position_ids: torch.Tensor) -> torch.Tensor:
    """The ``(rows, 1, length, length)`` boolean SDPA mask (True: may attend) of packed rows: causal, and
    only within the sequence a place belongs to."""
    segments = segment_ids(position_ids)
    length = position_ids.shape[-1]
    causal = torch.ones(length, length, dtype=torch.bool, device=position_ids.device).tril()
    return (segments[:, :, None] == segments[:, None, :]).logical_and(causal)[:, None]
