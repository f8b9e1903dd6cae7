"""Padding, measured: length-grouped batches of the shared dataset at batch size 8 waste at most 3% of positions."""

from __future__ import annotations

import numpy as np
import pytest

from promptstyles.cli import main
from promptstyles.pipeline import build_dataloaders, padding_share


def loaders_for(dataset_path, group: bool):
    return build_dataloaders({"data": {"path": str(dataset_path)},
                              "loader": {"batch_size": 8, "group_by_length": group}})


@pytest.mark.parametrize(("group", "low", "high"), [(True, 0.0, 0.03), (False, 0.15, 0.25)])
def test_padding_share_of_an_epoch_equals_the_loaders_batches(dataset_path, group, low, high):
    loaders = loaders_for(dataset_path, group)
    share = padding_share(loaders.batch_shapes("train"))
    indices = loaders.batch_indices("train")
    batches = list(loaders.train)  # the epoch batch_shapes looked ahead at
    assert len(batches) == len(indices) == 116
    lengths = loaders.datasets["train"].lengths
    positions = sum(batch.inputs.numel() for batch in batches)
    real = sum(int(np.minimum(lengths[i], b.inputs.shape[1]).sum()) for i, b in zip(indices, batches, strict=True))
    assert share == pytest.approx(1 - real / positions, abs=1e-12)
    assert low <= share <= high


def test_stats_reports_the_padding_of_each_split(dataset_path, tmp_path, capsys):
    for group, expected in ((True, "1.0%"), (False, "19.6%")):
        config = tmp_path / f"{group}.yaml"
        config.write_text(f"data: {{path: {dataset_path}}}\nloader: {{group_by_length: {str(group).lower()}}}\n",
                          encoding="utf-8")
        assert main(["stats", str(config)]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[1].split()[-1] == "PADDING"
        assert lines[2].split()[0] == "train" and lines[2].split()[-1] == expected
        assert lines[3].split()[-1] == "16.5%"  # validation keeps its order: grouping is for training
