"""Batch samplers that yield index arrays: sequential or shuffled with a seeded generator.

Yielding whole numpy index arrays keeps the DataLoader's per-batch work to one call of the dataset's
``__getitems__`` and one of the collator. Shuffling is reproducible: epoch ``e`` of seed ``s`` is always
the same order, whatever else used the global random state.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

__all__ = ["IndexBatchSampler"]


class IndexBatchSampler(torch.utils.data.Sampler[np.ndarray]):
    """Batches of dataset positions; ``set_epoch`` advances the shuffle like DistributedSampler."""

    def __init__(
        self,
        indices: Sequence[int] | np.ndarray | int,
        batch_size: int,
        *,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 123,
    ) -> None:
        self.indices = np.arange(indices) if isinstance(indices, int) else np.asarray(indices, dtype=np.int64)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        full, rest = divmod(len(self.indices), self.batch_size)
        return full if self.drop_last or not rest else full + 1

    def __iter__(self) -> Iterator[np.ndarray]:
        order = self.indices
        if self.shuffle:
            order = order[np.random.default_rng((self.seed, self.epoch)).permutation(len(order))]
            self.epoch += 1
        stop = len(self) * self.batch_size
        for start in range(0, min(stop, len(order)), self.batch_size):
            yield order[start : start + self.batch_size]
