"""Checking an experiment file whole before it runs: every run's style, tokenizer and data, the model and the
output folder, in seconds and without tokenizing a record or building a model."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DataError, UnknownMarkupError
from ..pipeline import build_tokenizer
from .config import Experiment, load_experiment
from .output import check_output

__all__ = ["ExperimentCheck", "validate_experiment"]


@dataclass(frozen=True)
class ExperimentCheck:
    """What :func:`validate_experiment` found: the runs that would train and the styles that would be skipped."""

    experiment: Experiment
    runs: list[str]
    skipped: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        model = self.experiment.model
        if model.is_hf:
            what = f"model path {model.path}" if model.path else f"model init {(model.init or {})['model_type']}"
        else:
            what = f"GPT preset {model.preset}" + (f" + {model.checkpoint}" if model.checkpoint else "")
        seeds = f", seeds {list(self.experiment.seeds)}" if self.experiment.seeds else ""
        skipped = f"; skipped: {', '.join(self.skipped)}" if self.skipped else ""
        output = self.experiment.output
        return f"{len(self.runs)} runs ({', '.join(self.runs)}), {what}{seeds}, output {output}{skipped}"


def _check_data(config: Any, label: str) -> None:
    path = config.data.path
    if path is not None and not Path(path).expanduser().is_file():
        raise DataError(f"run {label!r}: data.path {path} is not a file (a relative path is read from the "
                        "experiment file's folder)")


def _check_model(experiment: Experiment) -> None:
    model = experiment.model
    for key in ("checkpoint", "path"):
        value = getattr(model, key)
        if value is not None and not Path(value).expanduser().exists():
            raise ConfigError(f"{value} does not exist (a relative path is read from the experiment file's folder)",
                              path=f"model.{key}")
    if model.is_hf and importlib.util.find_spec("transformers") is None:
        raise ConfigError("a Hugging Face model needs transformers: pip install 'promptstyles[train]'",
                          path="model.path" if model.path else "model.init")
    if model.init is not None:
        import transformers

        try:
            transformers.AutoConfig.for_model(**model.init)
        except (ValueError, TypeError, KeyError) as error:
            raise ConfigError(f"transformers cannot build this config: {error}", path="model.init") from error


def validate_experiment(source: str | Path | Mapping[str, Any] | Experiment) -> ExperimentCheck:
    """Every check ``compare`` makes before its first run trains, short of tokenizing the data and building the
    model: the schema and grid, each run's style (plugins loaded) and tokenizer (a model's tokenizer must know
    the style's markup, or the style is skipped under ``on_unknown_markup: skip``), its data file, the model
    (paths, extras, a config transformers can build) and the output folder."""
    experiment = load_experiment(source)
    runs: list[str] = []
    skipped: dict[str, str] = {}
    for run in experiment.runs():
        try:
            build_tokenizer(run.config, run.config.build_style())
        except UnknownMarkupError as error:
            if experiment.on_unknown_markup == "error":
                raise UnknownMarkupError(f"run {run.label!r}: {error}; or set on_unknown_markup: skip") from None
            skipped[run.label] = str(error)
            continue
        _check_data(run.config, run.label)
        runs.append(run.label)
    if not runs:
        raise ConfigError("no style's markup is known to the tokenizer, so nothing is left to compare", path="styles")
    _check_model(experiment)
    check_output(Path(experiment.output), overwrite=True)
    return ExperimentCheck(experiment, runs, skipped)
