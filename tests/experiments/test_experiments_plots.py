"""The plots are real PNG files of the fixed size, written atomically."""

from __future__ import annotations

import math
import struct
from pathlib import Path

from promptstyles.experiments.plots import (
    HEIGHT,
    WIDTH,
    plot_generation_metrics,
    plot_length_distributions,
    plot_loss_curves,
    plot_padding_truncation,
)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


CURVES = {
    "alpaca": {"step": [10, 20], "train_loss": [3.0, 2.0], "val_loss": [3.1, 2.5], "val_response_loss": [3.5, 2.9]},
    "chatml": {
        "step": [10, 20], "train_loss": [3.2, 2.2], "val_loss": [None, None], "val_response_loss": [math.nan, 3.0]
    },
}


def test_loss_curves_png(tmp_path: Path) -> None:
    path = plot_loss_curves(CURVES, tmp_path / "plots" / "loss.png")
    assert png_size(path) == (WIDTH, HEIGHT)
    assert [p.name for p in (tmp_path / "plots").iterdir()] == ["loss.png"]


def test_length_distribution_png(tmp_path: Path) -> None:
    lengths = {"alpaca": [50, 61, 70, 120], "phi3": [40, 45, 52, 110], "empty": []}
    path = plot_length_distributions(lengths, tmp_path / "lengths.png", max_length=100)
    assert png_size(path) == (WIDTH, HEIGHT)


def test_padding_and_truncation_png_replaces_an_old_file(tmp_path: Path) -> None:
    target = tmp_path / "padding.png"
    target.write_bytes(b"old")
    plot_padding_truncation({"alpaca": 0.25, "chatml": 0.125}, {"alpaca": 3}, target)
    assert png_size(target) == (WIDTH, HEIGHT)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["padding.png"]


def test_generation_metrics_png_with_intervals_and_a_style_without_values(tmp_path: Path) -> None:
    generation = {"alpaca": {"stop_rate": 0.25, "leak_rate": 0.5, "length_ratio": 1.4},
                  "phi3": {"stop_rate": 1.0, "leak_rate": 0.0, "length_ratio": 0.9},
                  "chatml": {"stop_rate": None, "leak_rate": None, "length_ratio": None}}
    intervals = {"alpaca": {"generation.stop_rate": (0.0, 0.5), "generation.length_ratio": (1.1, 1.8)}}
    path = plot_generation_metrics(generation, intervals, tmp_path / "generation.png")
    assert png_size(path) == (WIDTH, HEIGHT)
