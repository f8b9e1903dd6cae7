"""Splits follow the reference arithmetic: ``int()`` of each fraction, validation gets the rest."""

from __future__ import annotations

import numpy as np
import pytest

from promptstyles.data.batches.splits import split_indices


def reference_sizes(count: int, train: float = 0.85, test: float = 0.10) -> tuple[int, int, int]:
    """The reference chapter's own lines, for ``count`` records."""
    train_portion = int(count * train)
    test_portion = int(count * test)
    return train_portion, test_portion, count - train_portion - test_portion


@pytest.mark.parametrize("count", [1100, 1101, 7, 19, 99])
def test_split_sizes_equal_reference_arithmetic(count):
    parts = split_indices(count)
    assert (len(parts.train), len(parts.test), len(parts.val)) == reference_sizes(count)


def test_1101_records_truncate_rather_than_round():
    # 1101 * 0.85 = 935.85: the reference keeps 935 for training (rounding would give 936).
    parts = split_indices(1101)
    assert parts.sizes == {"train": 935, "val": 56, "test": 110}
    np.testing.assert_array_equal(parts.train, np.arange(935))
    np.testing.assert_array_equal(parts.test, np.arange(935, 1045))
    np.testing.assert_array_equal(parts.val, np.arange(1045, 1101))


def test_shuffled_split_is_seeded_and_complete():
    first, again = split_indices(50, shuffle=True, seed=7), split_indices(50, shuffle=True, seed=7)
    np.testing.assert_array_equal(first.train, again.train)
    everything = np.concatenate([first.train, first.test, first.val])
    np.testing.assert_array_equal(np.sort(everything), np.arange(50))
    assert not np.array_equal(first.train, np.arange(len(first.train)))
