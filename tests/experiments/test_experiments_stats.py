"""Static statistics from counts, checked against hand-computed values."""

from __future__ import annotations

import pytest

from promptstyles.experiments.stats import length_summary, static_stats


def test_length_summary_by_hand() -> None:
    # sorted: 10 20 30 40 50; p95 at rank 0.95 * 4 = 3.8 -> 40 + 0.8 * 10 = 48
    assert length_summary([50, 10, 40, 20, 30]) == {
        "tokens_mean": 30.0, "tokens_median": 30.0, "tokens_p95": 48.0, "tokens_max": 50
    }
    assert length_summary([])["tokens_max"] == 0


def test_static_stats_by_hand() -> None:
    stats = static_stats(
        lengths=[10, 20, 40],
        bare_lengths=[4, 10, 25],
        supervised=[3, 5, 12],
        batches=[(2, 20, 30), (1, 30, 30)],
        max_length=30,
    )
    assert stats == {
        "examples": 3,
        "tokens_mean": pytest.approx(70 / 3),
        "tokens_median": 20.0,
        "tokens_p95": 38.0,
        "tokens_max": 40,
        "template_overhead_mean": pytest.approx(31 / 3),  # (70 - 39) / 3
        "supervised_fraction": pytest.approx(20 / 60),  # kept: 10 + 20 + 30
        "truncated": 1,
        "padding_fraction": pytest.approx(1 - 60 / 70),  # positions: 2 * 20 + 1 * 30
        "compute_tokens": 70,
    }


def test_mismatched_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="2 lengths, 1 bare lengths, 2 supervised counts"):
        static_stats([1, 2], [1], [1, 1], [])
