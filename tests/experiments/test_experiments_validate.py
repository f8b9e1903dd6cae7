"""``promptstyles validate`` on an experiment file: checked whole, in seconds, before anything trains."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from shared_paths import MODELS, require
from test_experiments_compare import tiny

from promptstyles.cli import main
from promptstyles.errors import ConfigError, DataError, UnknownMarkupError
from promptstyles.experiments.validate import validate_experiment

ROOT = Path(__file__).resolve().parents[2]
LLAMA = MODELS / "llama-3-8b-instruct"


def write(folder: Path, experiment: dict[str, Any]) -> Path:
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump(experiment), encoding="utf-8")
    return path


def test_validate_recognises_an_experiment_and_says_what_would_run(tmp_path, capsys):
    experiment = {**tiny(tmp_path / "out", ("alpaca", "chatml")), "grid": {"collate.mask": ["none", "prompt"]},
                  "seeds": [1, 2]}
    path = write(tmp_path, experiment)
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == (
        f"{path}: valid experiment: 4 runs (alpaca mask=none, chatml mask=none, alpaca mask=prompt, chatml "
        f"mask=prompt), GPT preset tiny, seeds [1, 2], output {tmp_path / 'out'}\n")
    assert not (tmp_path / "out").exists()  # nothing written, nothing trained


@pytest.mark.parametrize(("change", "error", "message"), [
    ({"styles": ["alpaca", "no-such-style"]}, ConfigError, r"styles\[1\] \(line \d+\): unknown style 'no-such-style'"),
    ({"base": {"data": {"path": "missing.json"}}}, DataError, "run 'alpaca': data.path .*missing.json is not a file"),
    ({"model": {"checkpoint": "nowhere.safetensors"}}, ConfigError, "model.checkpoint: .*nowhere.safetensors does not"),
    ({"model": {"init": {"model_type": "no-such-architecture"}}}, ConfigError, "model.init: transformers cannot"),
    ({"grid": {"collate.nonsense": [1]}}, ConfigError, "nonsense"),
])
def test_validate_finds_what_compare_would_stop_on(change, error, message, tmp_path):
    experiment = {**tiny(tmp_path / "out", ("alpaca",)), **change}
    if "model" in change and "init" in change["model"]:
        pytest.importorskip("transformers")
    with pytest.raises(error, match=message):
        validate_experiment(write(tmp_path, experiment))


def test_validate_names_a_style_the_models_tokenizer_cannot_write_or_says_it_will_be_skipped(tmp_path):
    require(LLAMA)
    experiment = {**tiny(tmp_path / "out", ("llama3", "chatml")), "base": {"tokenizer": str(LLAMA)}}
    with pytest.raises(UnknownMarkupError, match="run 'chatml': .*or set on_unknown_markup: skip"):
        validate_experiment(write(tmp_path, experiment))
    check = validate_experiment(write(tmp_path, {**experiment, "on_unknown_markup": "skip"}))
    assert check.runs == ["llama3"] and list(check.skipped) == ["chatml"]
    assert check.summary().endswith("; skipped: chatml")


def test_the_shipped_experiments_validate(capsys, monkeypatch):
    examples = sorted((ROOT / "examples").glob("*.yaml"))
    assert [path.name for path in examples] == ["compare-llama.yaml", "compare-shared.yaml"]
    require(LLAMA)
    for path in examples:
        assert main(["validate", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{examples[0]}: valid experiment: 4 runs (llama3, llama3.1, llama-3-template, alpaca)")
    assert lines[1].startswith(f"{examples[1]}: valid experiment: 10 runs (alpaca mask=none, ")
