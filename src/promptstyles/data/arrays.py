"""Array helpers of the data engine: block offsets and concatenated ranges, without Python loops."""

from __future__ import annotations

import numpy as np

__all__ = ["block_offsets", "concat_ranges"]


def block_offsets(counts: np.ndarray) -> np.ndarray:
    """Where each of ``len(counts)`` consecutive blocks starts, and (last) where the blocks end."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def concat_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + c)`` for each start and count."""
    heads = block_offsets(counts)[:-1]
    return np.repeat(starts - heads, counts) + np.arange(int(counts.sum()))
