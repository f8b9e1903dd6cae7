"""Ranking styles by a DPO run on the sample data: same pairs, same start, paired intervals, a report."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest
import torch

from promptstyles import get_tokenizer
from promptstyles.experiments.dpo_compare import compare_dpo, dpo_report
from promptstyles.experiments.hf_model import HFCausalLM
from promptstyles.experiments.train import TrainConfig

transformers = pytest.importorskip("transformers")


def sample_pairs() -> list[dict]:
    """The sample data as preference pairs: each record's answer chosen, the next record's rejected."""
    records = json.loads(resources.files("promptstyles.experiments").joinpath("sample_data.json").read_text("utf-8"))
    return [dict(record, chosen=record["output"], rejected=records[(index + 1) % len(records)]["output"])
            for index, record in enumerate(records)]


def make_model(vocab_size: int):
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=vocab_size, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512)
    return HFCausalLM(transformers.LlamaForCausalLM(config))


def test_styles_ranked_by_dpo_reward_margins_with_paired_intervals():
    pairs = sample_pairs()[:16]
    results = compare_dpo(pairs, ["alpaca", "chatml", "phi3"], get_tokenizer("gpt2"), make_model,
                          config=TrainConfig(max_steps=2, learning_rate=1e-2), batch_size=4, val_fraction=0.25,
                          allowed_max_length=128)
    styles = results["styles"]
    assert set(styles) == {"alpaca", "chatml", "phi3"}
    assert results["best"] == max(styles, key=lambda name: styles[name]["reward_margin"])
    held_out = list(range(len(pairs) - round(len(pairs) * 0.25), len(pairs)))
    for name, result in styles.items():
        assert len(result["train_loss"]) == 2
        assert result["train_loss"][0] == pytest.approx(np.log(2), abs=1e-6)  # the policy starts as its reference
        margins = np.asarray(result["val_examples"]["margin"])
        assert (result["dropped"], result["val_examples"]["records"]) == (0, held_out)  # the same pairs scored
        assert result["reward_margin"] == pytest.approx(margins.mean(), abs=1e-6)
        assert result["reward_accuracy"] == pytest.approx((margins > 0).mean())
        if name != results["best"]:
            best = np.asarray(styles[results["best"]]["val_examples"]["margin"])
            paired = result["paired"]["margin"]
            assert paired["difference"] == pytest.approx(margins.mean() - best.mean(), abs=1e-9)
            assert paired["low"] <= paired["difference"] <= paired["high"]
    assert all(abs(result["reward_margin"]) > 1e-6 for result in styles.values())  # DPO moved each policy
    report = dpo_report(results)
    assert f"| {results['best']} | {styles[results['best']]['reward_margin']:.4f} |" in report
    assert report.count("\n") == 5
