"""Per-example response losses add up to the headline loss; the paired bootstrap pairs examples by record."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from promptstyles import build_dataloaders
from promptstyles.experiments import sample_data_path
from promptstyles.experiments.model import GPT, GPTConfig
from promptstyles.experiments.paired import bootstrap_interval, example_losses, paired_bootstrap
from promptstyles.experiments.train import evaluate


@pytest.mark.parametrize("ignore_index", [-100, -1])
def test_example_losses_add_up_to_the_token_weighted_response_loss(ignore_index: int) -> None:
    config = {"style": "chatml", "data": {"path": str(sample_data_path())},
              "collate": {"mask": "prompt", "ignore_index": ignore_index}}
    loaders = build_dataloaders(config, response_mask=True)
    torch.manual_seed(0)
    model = GPT(GPTConfig.preset("tiny", emb_dim=32, n_heads=2, n_layers=1, context_length=256))
    nll, tokens = example_losses(model, loaders.val, ignore_index=ignore_index)
    expected = evaluate(model, loaders.val, ignore_index=ignore_index)
    assert len(nll) == len(tokens) == len(loaders.datasets["val"]) == 3
    assert sum(tokens) == expected.response_tokens > 0
    assert sum(nll) / sum(tokens) == pytest.approx(expected.response_loss, rel=1e-6)


def test_the_bootstrap_pairs_examples_by_record_and_is_seeded() -> None:
    first = {"records": [7, 3, 5], "nll": [6.0, 2.0, 4.0], "tokens": [3, 1, 2]}  # 2.0 per token each
    second = {"records": [5, 9, 3, 7], "nll": [5.0, 99.0, 2.5, 7.5], "tokens": [2, 1, 1, 3]}  # 2.5 on 3, 5, 7
    steady = paired_bootstrap(first, second)
    assert steady == {"difference": -0.5, "low": -0.5, "high": -0.5, "level": 0.95, "examples": 3,
                      "resamples": 2000}
    noisy = {"records": [7, 3, 5], "nll": [3.0, 4.0, 5.0], "tokens": [3, 1, 2]}
    result = paired_bootstrap(noisy, second)
    assert result is not None and result["low"] < result["difference"] < result["high"]
    assert result == paired_bootstrap(noisy, second)
    assert paired_bootstrap(first, {"records": [1], "nll": [1.0], "tokens": [1]}) is None


def test_a_known_difference_gives_an_interval_that_excludes_zero_with_the_right_sign() -> None:
    rng = np.random.default_rng(7)
    base = rng.normal(0.5, 0.2, size=40)
    records = list(range(100, 140))
    better = {"records": records, "f1": (base + 0.3 + rng.normal(0, 0.05, size=40)).tolist()}
    worse = {"records": records, "f1": base.tolist()}
    result = paired_bootstrap(better, worse, value="f1", weight=None)
    assert result is not None
    assert result["difference"] == pytest.approx(float(np.mean(better["f1"]) - np.mean(worse["f1"])))
    assert 0.25 < result["low"] < result["difference"] < result["high"] < 0.35
    flipped = paired_bootstrap(worse, better, value="f1", weight=None)
    assert flipped is not None and flipped["high"] < 0 and flipped["difference"] == pytest.approx(-result["difference"])


def test_no_difference_gives_an_interval_that_holds_zero() -> None:
    records = list(range(20))
    first = {"records": records, "ended": [1, 0] * 10}
    second = {"records": records, "ended": [0, 1] * 10}  # the same rate, on other examples
    result = paired_bootstrap(first, second, value="ended", weight=None)
    assert result is not None and result["difference"] == 0.0
    assert result["low"] < 0 < result["high"]


def test_one_runs_interval_is_seeded_and_weighted() -> None:
    assert bootstrap_interval([2.0, 2.0, 2.0], [1, 1, 1]) == (2.0, 2.0)
    assert bootstrap_interval([3.0, 1.0], [3, 1]) == (1.0, 1.0)  # a ratio of sums: 1 per unit of weight
    low, high = bootstrap_interval([0, 1, 0, 1, 1])  # type: ignore[misc]
    assert 0 <= low < 0.6 < high <= 1 and bootstrap_interval([0, 1, 0, 1, 1]) == (low, high)
    assert bootstrap_interval([]) is None


NLL_A, NLL_B = [3.0, 9.0, 1.5, 6.0, 2.0, 7.5, 4.0, 0.5], [2.0, 8.0, 3.0, 4.0, 2.5, 5.0, 6.0, 1.0]
TOKENS = [2, 4, 1, 3, 2, 5, 3, 1]
LEVELS = [(0.95, [2.5, 97.5]), (0.8, [10.0, 90.0])]
"""Interval levels and the percentiles of the resamples that bound them."""


def resampled_ratios(values: list[float], weights: list[int], seed: int = 0) -> np.ndarray:
    """``sum(values) / sum(weights)`` over each of 2,000 seeded resamples (with replacement) of the examples."""
    picks = np.random.default_rng(seed).integers(0, len(values), size=(2000, len(values)))
    return np.asarray(values)[picks].sum(1) / np.asarray(weights)[picks].sum(1)


@pytest.mark.parametrize(("level", "percentiles"), LEVELS)
def test_the_paired_interval_is_the_levels_percentiles_of_the_resamples(level: float, percentiles: list[float]) -> None:
    records = [40, 41, 42, 43, 44, 45, 46, 47]
    first = {"records": records, "nll": NLL_A, "tokens": TOKENS}
    second = {"records": records, "nll": NLL_B, "tokens": TOKENS}
    differences = resampled_ratios(NLL_A, TOKENS) - resampled_ratios(NLL_B, TOKENS)
    low, high = np.percentile(differences, percentiles)
    result = paired_bootstrap(first, second, level=level)
    assert result is not None and (result["low"], result["high"], result["level"]) == (low, high, level)
    wider = np.percentile(differences, [percentiles[0] / 2, 100 - percentiles[0] / 2])
    assert wider[0] < low < high < wider[1]  # a level read as another gives other bounds


@pytest.mark.parametrize(("level", "percentiles"), LEVELS)
def test_one_runs_interval_is_the_levels_percentiles_of_the_resamples(level: float, percentiles: list[float]) -> None:
    ratios = resampled_ratios(NLL_A, TOKENS, seed=3)
    low, high = np.percentile(ratios, percentiles)
    assert bootstrap_interval(NLL_A, TOKENS, level=level, seed=3) == (low, high)
    wider = np.percentile(ratios, [percentiles[0] / 2, 100 - percentiles[0] / 2])
    assert wider[0] < low < high < wider[1]
