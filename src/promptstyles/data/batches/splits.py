"""Train/test/validation splits, in the reference order by default.

The reference takes the first 85% for training, the next 10% for testing and the rest for validation
(935/110/55 of 1100 records), with ``int()`` rounding; the same arithmetic applies to other fractions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

__all__ = ["SplitIndices", "split_indices"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplitIndices:
    """Positions of the records in each split."""

    train: np.ndarray
    test: np.ndarray
    val: np.ndarray

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def split_indices(count: int, *, train: float = 0.85, test: float = 0.10, shuffle: bool = False,
                  seed: int = 123) -> SplitIndices:
    """Split ``count`` records: first ``train``, next ``test``, the rest validation (optionally shuffled first)."""
    order = np.random.default_rng(seed).permutation(count) if shuffle else np.arange(count)
    train_end = int(count * train)
    test_end = train_end + int(count * test)
    split = SplitIndices(order[:train_end], order[train_end:test_end], order[test_end:])
    logger.info("split %d records: %s", count, split.sizes)
    return split
