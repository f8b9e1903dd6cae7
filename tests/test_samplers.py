"""Batch samplers: every example once per epoch, reproducible shuffles, length grouping, rank shares."""

from __future__ import annotations

import numpy as np
import pytest

from promptstyles import ConfigError, build_dataloaders, load_config
from promptstyles.data.batches.samplers import IndexBatchSampler

LENGTHS = np.random.default_rng(0).integers(5, 500, 203)


def epoch(sampler: IndexBatchSampler) -> list[list[int]]:
    return [batch.tolist() for batch in sampler]


def padded_cells(batches: list[list[int]]) -> int:
    return sum(len(batch) * int(LENGTHS[batch].max()) for batch in batches)


@pytest.mark.parametrize("group", [False, True])
def test_every_index_once_per_epoch_and_reproducible(group):
    def make(seed):
        return IndexBatchSampler(np.arange(203), 8, shuffle=True, seed=seed, lengths=LENGTHS, group_by_length=group)

    sampler = make(3)
    first, second = epoch(sampler), epoch(sampler)
    assert sorted(i for batch in first for i in batch) == list(range(203))
    assert len(first) == len(sampler) == 26 and len(first[-1]) in (3, 8)
    assert first != second  # the next epoch is shuffled anew
    assert epoch(make(3)) == first and epoch(make(4)) != first
    again = make(3)
    again.set_epoch(1)
    assert epoch(again) == second


def test_grouping_by_length_pads_less_than_shuffling():
    shuffled = epoch(IndexBatchSampler(203, 8, shuffle=True, seed=1))
    grouped = epoch(IndexBatchSampler(203, 8, shuffle=True, seed=1, lengths=LENGTHS, group_by_length=True))
    assert padded_cells(grouped) < 0.8 * padded_cells(shuffled)
    assert padded_cells(grouped) >= int(LENGTHS.sum())
    ordered = epoch(IndexBatchSampler(203, 8, lengths=LENGTHS, group_by_length=True, window=1000))
    assert [int(LENGTHS[b].max()) for b in ordered] == sorted((int(LENGTHS[b].max()) for b in ordered), reverse=True)


def test_ranks_share_the_batches_evenly_and_disjointly():
    shares = [epoch(IndexBatchSampler(203, 8, shuffle=True, seed=5, rank=r, world_size=3)) for r in range(3)]
    assert [len(s) for s in shares] == [8, 8, 8]  # 26 batches: the last 2 are dropped so ranks stay in step
    seen = [i for share in shares for batch in share for i in batch]
    assert len(seen) == len(set(seen))
    whole = epoch(IndexBatchSampler(203, 8, shuffle=True, seed=5))
    assert shares[1] == whole[1:24:3]


def test_loader_config_reaches_the_sampler(dataset_path):
    loaders = build_dataloaders({"data": {"path": str(dataset_path)},
                                 "loader": {"group_by_length": True, "world_size": 2, "rank": 1}})
    sampler = loaders.train.batch_sampler
    assert (sampler.group_by_length, sampler.rank, sampler.world_size, len(loaders.train)) == (True, 1, 2, 58)
    assert not loaders.val.batch_sampler.group_by_length
    with pytest.raises(ConfigError, match="loader.rank: must be from 0 to world_size - 1 \\(1\\), got 2"):
        load_config({"loader": {"world_size": 2, "rank": 2}})
