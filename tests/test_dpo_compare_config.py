"""``compare`` with ``training.objective: dpo``: from an experiment file to a report, resumed by fingerprint."""

from __future__ import annotations

import json

import numpy as np
import pytest

from promptstyles import ConfigError
from promptstyles.cli.main import main
from promptstyles.experiments.compare import compare
from promptstyles.experiments.sample import sample_data_path, sample_pairs, sample_pairs_path


def experiment(tmp_path, **training):
    return {"styles": ["alpaca", "chatml"],
            "base": {"data": {"path": str(sample_pairs_path()), "split": {"train": 0.3, "test": 0.5},
                              "cache_dir": str(tmp_path / "cache")},
                     "loader": {"batch_size": 6}},
            "model": {"preset": "tiny", "config": {"emb_dim": 16, "n_heads": 2, "n_layers": 1}},
            "training": {"objective": "dpo", "max_steps": 2, "learning_rate": 0.01, **training},
            "output": str(tmp_path / "out")}


def test_the_shipped_sample_pairs_are_made_from_the_sample_data_as_documented():
    records = json.loads(sample_data_path().read_text("utf-8"))
    assert json.loads(sample_pairs_path().read_text("utf-8")) == sample_pairs(records)
    assert sample_pairs(records)[59] == {"instruction": records[59]["instruction"], "input": records[59]["input"],
                                         "chosen": records[59]["output"], "rejected": records[0]["output"]}


def test_compare_ranks_styles_by_dpo_and_resumes_finished_runs(tmp_path):
    results = compare(experiment(tmp_path), progress=False)
    styles = results["styles"]
    assert set(styles) == {"alpaca", "chatml"}
    assert results["best"] == max(styles, key=lambda name: styles[name]["reward_margin"])
    validation = list(range(48, 60))  # 60 pairs: 18 train, 30 test, then the 12 validation pairs
    for result in styles.values():
        margins = np.asarray(result["val_examples"]["margin"])
        assert result["val_examples"]["records"] == validation
        assert result["reward_margin"] == pytest.approx(margins.mean(), abs=1e-6)
        assert result["reward_accuracy"] == pytest.approx((margins > 0).mean())
        assert len(result["train_loss"]) == 2 and result["train_loss"][0] == pytest.approx(np.log(2), abs=1e-6)
    other = next(name for name in styles if name != results["best"])
    paired = styles[other]["paired"]["margin"]
    assert paired["difference"] == pytest.approx(styles[other]["reward_margin"] - styles[results["best"]]
                                                 ["reward_margin"], abs=1e-6)
    report = (tmp_path / "out" / "report.md").read_text("utf-8")
    assert f"| {results['best']} | {styles[results['best']]['reward_margin']:.4f} |" in report
    assert "60 preference pairs (18 train, 12 validation)" in report
    again = compare(experiment(tmp_path), progress=False)
    assert sorted(again["resumed"]) == ["alpaca", "chatml"] and again["styles"] == json.loads(
        (tmp_path / "out" / "results.json").read_text("utf-8"))["styles"]
    changed = compare(experiment(tmp_path, beta=0.5), progress=False)
    assert changed["resumed"] == []  # beta is in the fingerprint


def test_dpo_on_instruction_records_names_the_data(tmp_path):
    config = experiment(tmp_path)
    config["base"]["data"]["path"] = str(sample_data_path())
    with pytest.raises(ConfigError, match="base.data: training.objective: dpo trains on preference pairs"):
        compare(config, progress=False)


def test_the_cli_runs_the_shipped_dpo_experiment_file(tmp_path, capsys):
    import yaml

    from promptstyles.experiments.compare import default_experiment_path

    shipped = yaml.safe_load((default_experiment_path().parent / "dpo.yaml").read_text("utf-8"))
    assert (shipped["training"]["objective"], shipped["base"]["data"]["path"]) == ("dpo", "sample_pairs.json")
    small = experiment(tmp_path)
    (tmp_path / "e.yaml").write_text(yaml.safe_dump(small), encoding="utf-8")
    assert main(["compare", str(tmp_path / "e.yaml")]) == 0
    out = capsys.readouterr().out
    assert out == (f"report: {tmp_path / 'out' / 'report.md'}\nresults: {tmp_path / 'out' / 'results.json'}\n")
