"""The experiment schema: which styles to compare, on what data, with which model, budget and seed.

Example (``styles`` is required; everything else has these defaults)::

    styles:                       # names, or {name, options, label}
      - alpaca
      - {name: chatml, options: {system: "You are a helpful assistant."}, label: chatml-system}
    base:                         # a normal config (data, tokenizer, collate, loader) without ``style``
      data: {path: data.json}     # relative paths are read relative to this file
      collate: {mask: none}
    grid:                         # optional variants, each applied to the base for every style
      collate.mask: [none, prompt]
    model:                        # our GPT (preset, checkpoint, config) or a Hugging Face causal LM (path or init)
      preset: tiny                # tiny | gpt2-small | gpt2-medium
      checkpoint: null            # a GPT-2 .safetensors file, or a torch.save state dict of this GPT
      config: {}                  # preset fields to change, e.g. {emb_dim: 64, n_layers: 2}
      path: null                  # a local transformers model folder; its own tokenizer becomes the tokenizer
      init: null                  # a transformers config, random weights: {model_type: llama, hidden_size: 64,
                                  # intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, ...};
                                  # vocab_size follows the tokenizer
      tokenizer: null             # the tokenizer (a model folder or tokenizer.json); default: path, else
                                  # base.tokenizer; relative paths are read relative to this file when they exist
      dtype: float32              # float32 | bfloat16 | float16 (Hugging Face models)
      lora: null                  # {r: 8, alpha: 16, dropout: 0.0, target_modules: [q_proj, v_proj]} (peft)
    on_unknown_markup: error      # error | skip: a style whose markup the tokenizer lacks stops the experiment,
                                  # or is left out with a line in the report
    training: {max_steps: 60, learning_rate: 0.0005, eval_every: 10, seed: 123}   # TrainConfig; with
                                  # objective: dpo (and beta: 0.1) the styles are ranked by a DPO run on
                                  # preference data instead (see promptstyles/experiments/dpo_runs.py and
                                  # the shipped dpo.yaml)
    seeds: []                     # e.g. [1, 2, 3]: train each run once per seed, report mean and spread
    generation: {records: 5, max_new_tokens: 48}
    output: promptstyles-compare  # relative to the current directory

A run is one style under one grid variant; every run gets the same model initialisation, budget, seed
and data order, so the numbers differ only by what the style and the variant change.
"""

from __future__ import annotations

import dataclasses
import itertools
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from .._config_paths import beside, resolve_paths, resolve_style_paths
from .._schema import Invalid, Lines, _fail, from_mapping, read_yaml, to_mapping
from ..config import Config, TokenizerConfig
from ..errors import ConfigError, StyleError
from ..styles.declarative import is_style_file
from ..styles.registry import default_registry
from .model import GPTConfig
from .model_spec import LoraSpec, ModelSpec
from .train import TrainConfig

__all__ = ["Experiment", "GenerationSpec", "LoraSpec", "ModelSpec", "Run", "StyleSpec", "load_experiment"]

# Keys of the base config that belong to ``styles`` in an experiment.
_STYLE_KEYS = ("style", "style_options")


@dataclass(frozen=True)
class StyleSpec:
    """One style to compare; ``label`` names it in the report (the style name by default)."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    label: str | None = None

    @property
    def title(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class GenerationSpec:
    """How many test records get a generated response, and how long a response may grow."""

    records: int = 5
    max_new_tokens: int = 48

    def __post_init__(self) -> None:
        if self.records < 0:
            raise Invalid("records", f"must be 0 or more, got {self.records}")
        if self.max_new_tokens < 1:
            raise Invalid("max_new_tokens", f"must be at least 1, got {self.max_new_tokens}")


@dataclass(frozen=True)
class Run:
    """One style under one grid variant, with the loader config that results from both."""

    label: str
    style: StyleSpec
    variant: dict[str, Any]
    config: Config


@dataclass(frozen=True)
class Experiment:
    """A validated experiment; build one with :func:`load_experiment`."""

    styles: tuple[StyleSpec | str, ...] = ()
    base: Config = field(default_factory=Config)
    grid: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    model: ModelSpec = field(default_factory=ModelSpec)
    training: TrainConfig = field(default_factory=TrainConfig)
    generation: GenerationSpec = field(default_factory=GenerationSpec)
    seeds: tuple[int, ...] = ()
    """Train every run once per seed (model initialisation and data order) and report mean and spread."""
    output: str = "promptstyles-compare"
    on_unknown_markup: Literal["error", "skip"] = "error"
    """What a style whose markup is not a special token of the model's tokenizer does: stop or be skipped."""

    def __post_init__(self) -> None:
        if len(set(self.seeds)) != len(self.seeds):
            raise Invalid("seeds", f"each seed once, got {list(self.seeds)}")
        specs = tuple(StyleSpec(s) if isinstance(s, str) else s for s in self.styles)
        object.__setattr__(self, "styles", specs)
        if not specs:
            raise Invalid("styles", "list at least one style to compare")
        titles = [spec.title for spec in specs]
        for title in titles:
            if titles.count(title) > 1:
                raise Invalid("styles", f"{title!r} appears twice; give one of them a label")
        for key, values in self.grid.items():
            if not values:
                raise Invalid("grid", f"{key!r} lists no values")

    def variants(self) -> list[dict[str, Any]]:
        """Every combination of the grid values, in the order given (one empty variant without a grid)."""
        keys = list(self.grid)
        return [dict(zip(keys, values, strict=True)) for values in itertools.product(*self.grid.values())]

    def runs(self) -> list[Run]:
        """The runs in order: for each variant, every style."""
        runs = []
        for variant in self.variants():
            for spec in self.styles:
                assert isinstance(spec, StyleSpec)
                config = replace(_apply(self.base, variant), style=spec.name, style_options=dict(spec.options))
                config = _for_model(config, self.model)
                runs.append(Run(_label(spec.title, variant), spec, variant, config))
        return runs

    def to_dict(self) -> dict[str, Any]:
        return to_mapping(self)


def _for_model(config: Config, model: ModelSpec) -> Config:
    """A run's config as the model needs it: the model's tokenizer, and attention masks for a Hugging Face
    model (its attention reads them; our GPT needs none)."""
    if model.tokenizer_path is not None:
        config = replace(config, tokenizer=replace(config.tokenizer, name="gpt2", path=model.tokenizer_path))
    if model.is_hf and not config.collate.attention_mask:
        config = replace(config, collate=replace(config.collate, attention_mask=True))
    return config


def _label(title: str, variant: Mapping[str, Any]) -> str:
    settings = " ".join(f"{key.rsplit('.', 1)[-1]}={_text(value)}" for key, value in variant.items())
    return f"{title} {settings}" if settings else title


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "null" if value is None else str(value)


def _apply(base: Config, variant: Mapping[str, Any]) -> Config:
    """``base`` with each dotted key of ``variant`` set (validated like the YAML would be)."""
    if not variant:
        return base
    data = to_mapping(base)
    for key, value in variant.items():
        *parents, last = key.split(".")
        target = data
        for parent in parents:
            target = target[parent]
        target[last] = value
    return from_mapping(Config, data)


def _check_grid_key(key: str) -> str | None:
    """Why ``key`` cannot be a grid key, or None when it names a field of the config."""
    parts = key.split(".")
    if parts[0] in (*_STYLE_KEYS, "plugins"):
        return f"{parts[0]!r} cannot vary in a grid; list the styles under 'styles'"
    cls: Any = Config
    for depth, part in enumerate(parts):
        if not dataclasses.is_dataclass(cls):
            return f"{'.'.join(parts[:depth])!r} has no keys"
        hints = typing.get_type_hints(cls)
        if part not in hints:
            where = ".".join(parts[:depth]) or "the config"
            return f"unknown key {part!r} in {where}; expected one of: {', '.join(sorted(hints))}"
        cls = hints[part]
    if dataclasses.is_dataclass(cls):
        return f"{key!r} is a section; vary one of its keys, e.g. {key}.{dataclasses.fields(cls)[0].name}"
    return None


def _validate(experiment: Experiment, raw: Mapping[str, Any], lines: Lines, source: str | None) -> None:
    """Checks that need more than one key: grid values, style names, the model's shape."""
    for key, values in experiment.grid.items():
        problem = _check_grid_key(key)
        if problem:
            raise _fail(problem, ("grid", key), lines, source)
        for index, value in enumerate(values):
            try:
                _apply(experiment.base, {key: value})
            except ConfigError as error:
                message = str(error).split(": ", 1)[-1]
                raise _fail(message, ("grid", key, str(index)), lines, source) from None
    registry = default_registry(tuple(experiment.base.plugins))
    registry.require(experiment.base.plugins, key="base.plugins")
    for index, spec in enumerate(experiment.styles):
        assert isinstance(spec, StyleSpec)
        path = ("styles", str(index)) if isinstance(raw["styles"][index], str) else ("styles", str(index), "name")
        try:
            registry.get(spec.name, **spec.options)
        except StyleError as error:
            raise _fail(str(error), path, lines, source) from None
    if experiment.model.tokenizer_path is not None and experiment.base.tokenizer != TokenizerConfig(
            special_tokens=experiment.base.tokenizer.special_tokens):
        key = "tokenizer" if experiment.model.tokenizer is not None else "path"
        raise _fail(f"the model sets the tokenizer (model.{key}); remove base.tokenizer", ("base", "tokenizer"),
                    lines, source)
    if experiment.model.is_hf:
        return
    preset = to_mapping(GPTConfig.preset(experiment.model.preset))
    from_mapping(GPTConfig, {**preset, **experiment.model.config}, path=("model", "config"), lines=lines,
                 source=source)


def _resolve_style(spec: StyleSpec | str, plugins: Sequence[str], folder: Path) -> StyleSpec | str:
    """A style file named relative to the experiment file, and the style's path options, read from its folder."""
    name = spec if isinstance(spec, str) else spec.name
    if is_style_file(name) and not Path(name).expanduser().is_absolute():
        name = str(folder / name)
    if isinstance(spec, str):
        return name
    return replace(spec, name=name, options=resolve_style_paths(name, spec.options, plugins, folder))


def load_experiment(source: str | Path | Mapping[str, Any] | Experiment) -> Experiment:
    """A validated :class:`Experiment` from a YAML file, a mapping, or an ``Experiment`` (returned as is).

    Errors are :class:`~promptstyles.ConfigError` naming the key path (and the YAML line). Relative
    ``base.data.path`` and ``model.checkpoint`` values are read relative to the YAML file, and so are
    ``model.path`` and ``model.tokenizer`` where they exist there.
    """
    if isinstance(source, Experiment):
        return source
    lines: Lines = {}
    name: str | None = None
    if isinstance(source, Mapping):
        raw: Any = source
    elif isinstance(source, (str, Path)):
        raw, lines = read_yaml(source)
        name = str(source)
    else:
        raise ConfigError(f"expected a YAML path or a mapping, got {type(source).__name__}")
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"expected a mapping, got {type(raw).__name__}", source=name, line=lines.get(()))
    base = raw.get("base")
    if isinstance(base, Mapping):
        for key in _STYLE_KEYS:
            if key in base:
                raise _fail("set styles and their options under 'styles', not in the base config",
                            ("base", key), lines, name)
    experiment = from_mapping(Experiment, raw, lines=lines, source=name)
    if name is not None:  # before validation, which loads the plugins modules found beside the file
        folder = Path(name).parent
        model = experiment.model
        checkpoint = model.checkpoint
        if checkpoint is not None and not Path(checkpoint).expanduser().is_absolute():
            model = replace(model, checkpoint=str(folder / checkpoint))
        model = replace(model, path=beside(model.path, folder), tokenizer=beside(model.tokenizer, folder))
        experiment = replace(experiment, model=model)
        experiment = replace(experiment, base=resolve_paths(experiment.base, folder))
        experiment = replace(experiment, styles=tuple(
            _resolve_style(spec, experiment.base.plugins, folder) for spec in experiment.styles))
    _validate(experiment, raw, lines, name)
    return experiment
