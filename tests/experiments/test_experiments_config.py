"""Experiment files: defaults, runs from styles and grid, and errors that name the key path and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptstyles import ConfigError
from promptstyles.experiments import default_experiment_path, load_experiment, sample_data_path
from promptstyles.pipeline import prepare_data


def test_the_built_in_experiment_compares_three_styles_on_the_sample_data() -> None:
    experiment = load_experiment(default_experiment_path())
    assert [run.label for run in experiment.runs()] == ["alpaca", "phi3", "chatml"]
    assert Path(experiment.base.data.path) == sample_data_path()
    assert experiment.model.preset == "tiny" and experiment.model.checkpoint is None
    # enough to weigh a margin: several seeds, and a validation split of a dozen records
    assert experiment.seeds == (1, 2, 3)
    assert prepare_data(experiment.runs()[0].config).sizes == {"train": 42, "val": 12, "test": 6}


def test_a_grid_gives_every_style_every_variant(tmp_path: Path) -> None:
    path = tmp_path / "experiment.yaml"
    path.write_text(
        "styles: [alpaca, {name: chatml, options: {system: Be brief.}, label: chatml-brief}]\n"
        "base: {data: {path: data.json}, collate: {mask: instruction}}\n"
        "grid: {collate.mask: [none, prompt], tokenizer.special_tokens: [text, extend]}\n"
        "model: {checkpoint: weights/model.safetensors}\n",
        encoding="utf-8",
    )
    experiment = load_experiment(path)
    runs = experiment.runs()
    assert [run.label for run in runs[:3]] == [
        "alpaca mask=none special_tokens=text", "chatml-brief mask=none special_tokens=text",
        "alpaca mask=none special_tokens=extend"]
    assert len(runs) == 8
    last = runs[-1]
    assert (last.config.style, last.config.style_options) == ("chatml", {"system": "Be brief."})
    assert (last.config.collate.mask, last.config.tokenizer.special_tokens) == ("prompt", "extend")
    assert last.config.data.path == str(tmp_path / "data.json")
    assert experiment.model.checkpoint == str(tmp_path / "weights" / "model.safetensors")
    assert experiment.model.checkpoint_format == "safetensors"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("styles: []\n", "styles (line 1): list at least one style"),
        ("styles: [alpaca, {name: nosuch}]\n", "styles[1].name (line 1): unknown style 'nosuch'"),
        ("styles: [alpaca, alpaca]\n", "styles (line 1): 'alpaca' appears twice"),
        ("styles: [alpaca]\nbase:\n  style: chatml\n", "base.style (line 3): set styles"),
        ("styles: [alpaca]\nbase:\n  collate: {mask: everything}\n", "base.collate.mask (line 3): expected one of"),
        ("styles: [alpaca]\ngrid:\n  collate.mask: [none, bogus]\n", "grid.collate.mask[1] (line 3): expected one of"),
        ("styles: [alpaca]\ngrid:\n  collate.masks: [none]\n", "grid.collate.masks (line 3): unknown key 'masks'"),
        ("styles: [alpaca]\ngrid:\n  style: [chatml]\n", "grid.style (line 3): 'style' cannot vary"),
        ("styles: [alpaca]\nmodel:\n  config: {n_heads: 3}\n", "model.config.n_heads (line 3): must divide"),
        ("styles: [alpaca]\nmodel:\n  preset: huge\n", "model.preset (line 3): expected one of"),
        ("styles: [alpaca]\ntraining:\n  learning_rate: -1\n", "training.learning_rate (line 3): must be positive"),
        ("styles: [alpaca]\ngeneration:\n  records: many\n", "generation.records (line 3): expected an integer"),
        ("styles: [alpaca]\noutputs: here\n", "outputs (line 2): unknown key 'outputs'"),
        ("styles: [alpaca]\nseeds: [1, 2, 1]\n", "seeds (line 2): each seed once, got [1, 2, 1]"),
    ],
)
def test_errors_name_the_key_path_and_line(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "experiment.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_experiment(path)
    assert str(caught.value).startswith(f"{path}: {where}")


def test_a_mapping_is_checked_the_same_way() -> None:
    with pytest.raises(ConfigError, match=r"^training\.max_steps: must be at least 1"):
        load_experiment({"styles": ["alpaca"], "training": {"max_steps": 0}})
