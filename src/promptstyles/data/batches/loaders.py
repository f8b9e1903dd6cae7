"""Splits and DataLoaders from plain arguments: the config-free core under ``promptstyles.pipeline``."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from ...errors import DataError
from ..modes import TruncationMode
from ..pairs import PairDataset
from ..tokenized import TokenizedDataset
from .collate import Collator
from .packed import PackedCollator
from .packing import PackedBatchSampler
from .pairs import PairCollator
from .samplers import IndexBatchSampler
from .splits import split_indices

__all__ = ["SPLITS", "DeviceDataLoader", "make_loader", "make_pair_loader", "padding_share", "split_dataset",
           "split_pairs"]

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


def split_dataset(
    dataset: TokenizedDataset, *, train: float, test: float, shuffle: bool = False, seed: int = 0,
    drop_longer_than: int | None = None,
) -> tuple[dict[str, TokenizedDataset], dict[str, int]]:
    """Train, validation and test views of ``dataset``, and how many examples over ``drop_longer_than``
    tokens were dropped from each (none dropped when it is None)."""
    parts = split_indices(len(dataset), train=train, test=test, shuffle=shuffle, seed=seed)
    splits = {"train": dataset.select(parts.train), "val": dataset.select(parts.val),
              "test": dataset.select(parts.test)}
    dropped: dict[str, int] = {}
    if drop_longer_than is not None:
        for name, subset in splits.items():
            keep = np.flatnonzero(subset.lengths <= drop_longer_than)
            dropped[name] = len(subset) - len(keep)
            if dropped[name]:
                logger.warning("%s: dropped %d of %d examples longer than allowed_max_length=%d", name,
                               dropped[name], len(subset), drop_longer_than)
                if not len(keep):
                    raise DataError(f"every {name} example is longer than collate.allowed_max_length="
                                    f"{drop_longer_than}")
                splits[name] = subset.select(keep)
    return splits, dropped


def split_pairs(
    pairs: PairDataset, *, train: float, test: float, shuffle: bool = False, seed: int = 0,
    allowed_max_length: int | None = None, truncation_mode: TruncationMode = "keep_start",
    drop_overlong: bool = False,
) -> tuple[dict[str, PairDataset], dict[str, int]]:
    """Train, validation and test pairs, split by pair (both rows of a pair go together), and how many pairs
    each split dropped for not fitting ``allowed_max_length`` (with ``drop_overlong``; else such a pair is a
    :class:`DataError`, see :meth:`PairDataset.fit`)."""
    parts = split_indices(len(pairs), train=train, test=test, shuffle=shuffle, seed=seed)
    splits: dict[str, PairDataset] = {}
    dropped: dict[str, int] = {}
    for name, indices in (("train", parts.train), ("val", parts.val), ("test", parts.test)):
        subset = pairs.select(indices)
        if len(subset):
            subset, dropped[name] = subset.fit(allowed_max_length, truncation_mode, drop_overlong=drop_overlong)
        splits[name] = subset
    return splits, dropped


def make_pair_loader(
    pairs: PairDataset, collator: PairCollator, *, batch_size: int, shuffle: bool = False, drop_last: bool = False,
    seed: int = 0, group_by_length: bool = False, rank: int = 0, world_size: int = 1, num_workers: int = 0,
    pin_memory: bool = False, device: str | torch.device | None = None,
) -> DeviceDataLoader:
    """A DataLoader of pair batches; the sampler works as for examples, a pair's length its longer row's."""
    lengths = pairs.examples.lengths
    sampler = IndexBatchSampler(
        len(pairs), batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed,
        lengths=np.maximum(lengths[0::2], lengths[1::2]), group_by_length=group_by_length, rank=rank,
        world_size=world_size,
    )
    return DeviceDataLoader(
        pairs, batch_sampler=sampler,  # type: ignore[arg-type]  # index arrays go to __getitems__
        collate_fn=collator, num_workers=num_workers, persistent_workers=num_workers > 0, pin_memory=pin_memory,
        device=device,
    )


def make_loader(
    dataset: TokenizedDataset, collator: Collator, *, batch_size: int, shuffle: bool = False,
    drop_last: bool = False, seed: int = 0, group_by_length: bool = False, rank: int = 0, world_size: int = 1,
    num_workers: int = 0, pin_memory: bool = False, device: str | torch.device | None = None,
    row_length: int | None = None,
) -> DeviceDataLoader:
    """A DataLoader of whole-batch index arrays: the sampler picks indices, the collator builds tensors.

    With ``row_length``, a batch is ``batch_size`` packed rows of that many tokens (``group_by_length`` has
    nothing left to do then).
    """
    sampler: IndexBatchSampler | PackedBatchSampler
    collate: Collator | PackedCollator = collator
    if row_length is not None:
        sampler = PackedBatchSampler(dataset.lengths, row_length, batch_size, shuffle=shuffle, drop_last=drop_last,
                                     seed=seed, rank=rank, world_size=world_size)
        collate = PackedCollator(collator, row_length)
    else:
        sampler = IndexBatchSampler(
            len(dataset), batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed, lengths=dataset.lengths,
            group_by_length=group_by_length, rank=rank, world_size=world_size,
        )
    return DeviceDataLoader(
        dataset, batch_sampler=sampler,  # type: ignore[arg-type]  # index arrays go to __getitems__
        collate_fn=collate, num_workers=num_workers, persistent_workers=num_workers > 0, pin_memory=pin_memory,
        device=device,
    )


class DeviceDataLoader(torch.utils.data.DataLoader):
    """A DataLoader that moves each batch to ``device`` in the main process (None: batches stay as built).

    Without worker processes (and without pinning or a timeout) it builds each batch itself: the batch
    sampler's indices go to the dataset's ``__getitems__`` and then to the collator, as in torch's own
    single-process iterator, but without the profiler scope and fetcher torch wraps around every batch, which
    cost more than collating a short batch. Each epoch still draws the base seed torch's iterator draws, so the
    global random state moves exactly as it would.
    """

    def __init__(self, *args: Any, device: str | torch.device | None = None, **kwargs: Any) -> None:
        self.device = device
        super().__init__(*args, **kwargs)

    def __iter__(self):  # type: ignore[override]
        batches = self._in_process() if self._builds_in_process() else super().__iter__()
        if self.device is None:
            return batches
        return (batch.to(self.device, non_blocking=True) for batch in batches)

    def _builds_in_process(self) -> bool:
        return (self.num_workers == 0 and not self.pin_memory and not self.timeout and self.batch_sampler is not None
                and callable(getattr(self.dataset, "__getitems__", None)) and self.collate_fn is not None)

    def _in_process(self) -> Iterator[Any]:
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)  # torch's per-epoch base seed
        getitems, collate = self.dataset.__getitems__, self.collate_fn  # type: ignore[attr-defined]
        return (collate(getitems(indices)) for indices in self.batch_sampler)  # type: ignore[union-attr]


def padding_share(shapes: Sequence[tuple[int, int, int]]) -> float:
    """The share of batch positions that are padding, from :meth:`DataLoaders.batch_shapes`."""
    positions = sum(size * width for size, width, _ in shapes)
    return 1.0 - sum(real for _, _, real in shapes) / positions if positions else 0.0
