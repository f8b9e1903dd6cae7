"""Batch samplers that yield index arrays: in order, shuffled, or grouped by length; rank-aware for DDP.

Yielding whole numpy index arrays keeps the DataLoader's per-batch work to one call of the dataset's
``__getitems__`` and one of the collator. Shuffling is reproducible: epoch ``e`` of seed ``s`` is always
the same order, whatever else used the global random state. Grouping by length sorts each window of
``batch_size * window`` examples by length before cutting batches, so a batch holds examples of similar
length and pads less, while the order of the batches stays random.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

__all__ = ["IndexBatchSampler"]


class IndexBatchSampler(torch.utils.data.Sampler[np.ndarray]):
    """Batches of dataset positions; ``set_epoch`` advances the shuffle like DistributedSampler.

    With ``world_size > 1`` each rank gets every ``world_size``-th batch of the same global order, and all
    ranks get the same number of batches (a short tail is dropped), as data-parallel training needs.
    """

    def __init__(
        self,
        indices: Sequence[int] | np.ndarray | int,
        batch_size: int,
        *,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 123,
        lengths: np.ndarray | None = None,
        group_by_length: bool = False,
        window: int = 50,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.indices = np.arange(indices) if isinstance(indices, int) else np.asarray(indices, dtype=np.int64)
        if group_by_length and (lengths is None or len(lengths) != len(self.indices)):
            raise ValueError("group_by_length needs one length per index")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.lengths = None if lengths is None else np.asarray(lengths)
        self.group_by_length = group_by_length
        self.window = window
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batch_count(self) -> int:
        full, rest = divmod(len(self.indices), self.batch_size)
        return full if self.drop_last or not rest else full + 1

    def __len__(self) -> int:
        return self._batch_count() // self.world_size if self.world_size > 1 else self._batch_count()

    def __iter__(self) -> Iterator[np.ndarray]:
        rng = np.random.default_rng((self.seed, self.epoch)) if self.shuffle else None
        positions = np.arange(len(self.indices)) if rng is None else rng.permutation(len(self.indices))
        if self.group_by_length and self.lengths is not None:
            size = self.batch_size * self.window
            positions = np.concatenate([
                chunk[np.argsort(-self.lengths[chunk], kind="stable")]
                for chunk in np.split(positions, range(size, len(positions), size))
            ]) if len(positions) else positions
        starts = np.arange(self._batch_count()) * self.batch_size
        if rng is not None and self.group_by_length:
            starts = starts[rng.permutation(len(starts))]
        if self.world_size > 1:
            starts = starts[: len(self) * self.world_size][self.rank :: self.world_size]
        if rng is not None:
            self.epoch += 1
        order = self.indices[positions]
        for start in starts.tolist():
            yield order[start : start + self.batch_size]
