"""Per-example response losses add up to the headline loss; the paired bootstrap pairs examples by record."""

from __future__ import annotations

import pytest
import torch

from promptstyles import build_dataloaders
from promptstyles.experiments import sample_data_path
from promptstyles.experiments.model import GPT, GPTConfig
from promptstyles.experiments.paired import example_losses, paired_bootstrap
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
