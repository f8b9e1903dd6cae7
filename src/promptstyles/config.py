"""The configuration schema: one YAML document selects the style, data, tokenizer, masking and loaders.

Example (every key optional; these are the defaults unless noted)::

    style: alpaca                 # a registered style name or alias, an inline chat format (see
                                  # promptstyles/styles/declarative.py): {name, system, user, assistant, ...},
                                  # or one in its own file: {file: my-format.yaml} (relative: to this file)
    style_options: {}             # keyword options of the style, e.g. {system: "You are ..."}
    plugins: []                   # extra plugin modules to load, e.g. [my_styles] (found next to the YAML
                                  # file too) or [./styles/my_styles.py]; one that fails to load is an error
    data:
      path: data.json             # JSON array or JSONL; or url: https://...; default: the reference dataset
      format: auto                # auto | json | jsonl
      fields: {}                  # our key -> the dataset's key, e.g. {instruction: prompt, output: completion}
      on_invalid: error           # error | skip (skipped records are counted and logged)
      cache: true                 # keep tokenized datasets (and downloads, revalidated) in cache_dir; false: none
      cache_dir: null             # default: $PROMPTSTYLES_CACHE_DIR or ~/.cache/promptstyles; relative: to this file
      streaming: false            # true: a JSONL data.path is read and tokenized in chunks into a memory-mapped
                                  # store, so memory does not grow with the file (not for JSON arrays or URLs)
      num_proc: 1                 # processes that tokenize (this one included), or auto: one per usable core
      split: {train: 0.85, test: 0.10, shuffle: false, seed: 123}   # validation gets the rest
    tokenizer:                    # or just the name or path: ``tokenizer: gpt2``, ``tokenizer: models/qwen``
      name: gpt2                  # a registered tokenizer: tiktoken's encodings, or a plugin's
      path: null                  # a model's own tokenizer: a folder with tokenizer.json, the file, or a Hub id
                                  # (Qwen/Qwen2.5-7B-Instruct, with huggingface_hub); relative: to this file
      special_tokens: text        # text | extend (the style's markup tokens get new ids; a model's own
                                  # tokenizer always uses its special ids, and the style's must be among them)
    collate:
      pad_token_id: null          # default: the tokenizer's end-of-text id (50256 for gpt2)
      ignore_index: -100
      allowed_max_length: null
      mask: none                  # none | instruction | prompt | assistant | last_assistant
      truncation: reference       # reference | keep_eos
      drop_overlong: false
      pad_to_multiple_of: null
      attention_mask: false
      packing: false              # true: rows of allowed_max_length tokens, examples end to end (required then)
      device: cpu
    loader: {batch_size: 8, shuffle: true, drop_last: true, seed: 123, num_workers: 0,
             group_by_length: false, rank: null, world_size: null}

``packing: true`` makes every loader give ``batch_size`` rows of ``allowed_max_length`` tokens, each
holding whole examples end to end with position ids that restart per example (see
``promptstyles/data/packed.py``); ``group_by_length`` is then moot.
``shuffle``, ``drop_last`` and ``group_by_length`` (batches of similar lengths, less padding) apply to
the training loader; validation and test keep their order and their last batch. ``rank`` and
``world_size`` default to what ``torchrun`` sets (``RANK``, ``WORLD_SIZE``; 0 and 1 without it); with
``world_size`` > 1 the training loader gives rank ``rank`` its share of the batches, the same number on
every rank, while validation and test give every rank the whole split, so each rank scores every example
and the losses equal a single process's. Relative
``data.path`` values are read relative to the YAML file, and a ``plugins`` module whose ``.py`` file or
package folder sits beside the YAML file is loaded from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from ._config_paths import resolve_paths
from ._schema import Invalid, Lines, from_mapping, read_yaml, to_mapping
from .data.loading import REFERENCE_DATA_URL
from .data.modes import MaskMode, SpecialTokensMode, TruncationPolicy
from .distributed import from_environment, placement
from .errors import ConfigError
from .styles._base import Style
from .styles.declarative import DeclarativeStyle, is_style_file, read_style_file

__all__ = [
    "REFERENCE_DATA_URL",
    "CollateConfig",
    "Config",
    "DataConfig",
    "LoaderConfig",
    "SplitConfig",
    "TokenizerConfig",
    "load_config",
]


def _fraction(key: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise Invalid(key, f"must be between 0 and 1, got {value}")


@dataclass(frozen=True)
class SplitConfig:
    """Train gets the first ``train`` fraction, test the next ``test`` fraction, validation the rest."""

    train: float = 0.85
    test: float = 0.10
    shuffle: bool = False
    seed: int = 123

    def __post_init__(self) -> None:
        _fraction("train", self.train)
        _fraction("test", self.test)
        if self.train + self.test > 1.0 + 1e-9:
            raise Invalid("test", f"train + test must not exceed 1, got {self.train} + {self.test}")

    @property
    def validation(self) -> float:
        return max(0.0, 1.0 - self.train - self.test)


@dataclass(frozen=True)
class DataConfig:
    path: str | None = None
    url: str | None = None
    format: Literal["auto", "json", "jsonl"] = "auto"
    fields: dict[str, str] = field(default_factory=dict)
    on_invalid: Literal["error", "skip"] = "error"
    cache: bool = True
    cache_dir: str | None = None
    streaming: bool = False
    num_proc: int | Literal["auto"] = 1
    split: SplitConfig = field(default_factory=SplitConfig)

    def __post_init__(self) -> None:
        if self.streaming and self.path is None:
            raise Invalid("streaming", "reads a local JSONL file in chunks: give data.path (a URL or the default "
                                       "dataset is read whole; set data.streaming: false)")
        if self.streaming and self.format == "json":
            raise Invalid("streaming", "reads JSON Lines in chunks, not a JSON array (data.format: json); convert "
                                       "the file to JSONL or set data.streaming: false")
        if self.path is not None and self.url is not None:
            raise Invalid("url", "give either data.path or data.url, not both")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise Invalid("url", f"must start with http:// or https://, got {self.url!r}")
        if self.num_proc != "auto" and self.num_proc < 1:
            raise Invalid("num_proc", f"must be at least 1 (or auto: one process per core), got {self.num_proc}")
        known = {"instruction", "input", "output", "messages", "conversations"}
        for key in self.fields:
            if key not in known:
                raise Invalid("fields", f"unknown field {key!r}; expected some of {', '.join(sorted(known))}")

    @property
    def source(self) -> str:
        """The path or URL records come from (the reference dataset by default)."""
        return self.path or self.url or REFERENCE_DATA_URL


@dataclass(frozen=True)
class TokenizerConfig:
    """``tokenizer: gpt2`` is short for ``tokenizer: {name: gpt2}``. A name no plugin registered that reads as
    a path or a Hub id (``tokenizer: ../models/qwen2.5-7b-instruct``) is a model's own tokenizer, like ``path``."""

    shorthand: ClassVar[str] = "name"
    name: str = "gpt2"
    path: str | None = None
    special_tokens: SpecialTokensMode = "text"

    @property
    def source(self) -> tuple[str | None, str | None]:
        """The registered name and the path to load: with a ``path``, the default name gives way to it."""
        if self.path is not None and self.name == "gpt2":
            return None, self.path
        return self.name, self.path


@dataclass(frozen=True)
class CollateConfig:
    pad_token_id: int | None = None
    ignore_index: int = -100
    allowed_max_length: int | None = None
    mask: MaskMode = "none"
    truncation: TruncationPolicy = "reference"
    drop_overlong: bool = False
    pad_to_multiple_of: int | None = None
    attention_mask: bool = False
    packing: bool = False
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.allowed_max_length is not None and self.allowed_max_length < 1:
            raise Invalid("allowed_max_length", f"must be at least 1, got {self.allowed_max_length}")
        if self.pad_to_multiple_of is not None and self.pad_to_multiple_of < 1:
            raise Invalid("pad_to_multiple_of", f"must be at least 1, got {self.pad_to_multiple_of}")
        if self.drop_overlong and self.allowed_max_length is None:
            raise Invalid("drop_overlong", "needs collate.allowed_max_length")
        if self.packing and self.allowed_max_length is None:
            raise Invalid("packing", "needs collate.allowed_max_length: the length of a packed row, e.g. 1024")


@dataclass(frozen=True)
class LoaderConfig:
    batch_size: int = 8
    shuffle: bool = True
    drop_last: bool = True
    seed: int = 123
    num_workers: int = 0
    group_by_length: bool = False
    rank: int | None = None
    world_size: int | None = None

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise Invalid("batch_size", f"must be at least 1, got {self.batch_size}")
        if self.world_size is not None and self.world_size < 1:
            raise Invalid("world_size", f"must be at least 1, got {self.world_size}")
        found = from_environment()
        for key, variable in (("world_size", "WORLD_SIZE"), ("rank", "RANK")):
            value = getattr(self, key)
            if found is not None and value is not None and value != getattr(found, key):
                raise Invalid(key, f"is {value} but torchrun set {variable}={getattr(found, key)}; remove"
                                   f" loader.{key} to take it from the environment")
        rank, world_size = self.placement
        if not 0 <= rank < world_size:
            raise Invalid("rank", f"must be from 0 to world_size - 1 ({world_size - 1}), got {rank}")
        if self.num_workers < 0:
            raise Invalid("num_workers", f"must be 0 or more, got {self.num_workers}")

    @property
    def placement(self) -> tuple[int, int]:
        """``(rank, world_size)``: the configured values, else the running job's (see :mod:`.distributed`)."""
        where = placement()
        return (where.rank if self.rank is None else self.rank,
                where.world_size if self.world_size is None else self.world_size)


@dataclass(frozen=True)
class Config:
    """Everything needed to turn records into batches; build one with :func:`load_config`."""

    style: str | DeclarativeStyle = "alpaca"
    style_options: dict[str, Any] = field(default_factory=dict)
    plugins: tuple[str, ...] = ()
    data: DataConfig = field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    collate: CollateConfig = field(default_factory=CollateConfig)
    loader: LoaderConfig = field(default_factory=LoaderConfig)

    def to_dict(self) -> dict[str, Any]:
        return to_mapping(self)

    def build_style(self) -> Style:
        """The configured style: a registered name (with ``plugins`` loaded) or an inline declaration.

        Every module in ``plugins`` must load, and a declaration may not take a registered name (which
        would silently shadow that style).
        """
        from .styles.registry import default_registry

        registry = default_registry(tuple(self.plugins))
        registry.require(self.plugins)
        if isinstance(self.style, DeclarativeStyle):
            return registry.declared(self.style, **self.style_options)
        return registry.get(self.style, **self.style_options)


def _style_file(data: Any, lines: Lines, source: str | None, base: Path) -> Any:
    """``data`` with ``style: {file: F}`` (or ``style: F.yaml``) as the file's checked, absolute path.

    The file is read now, so that its errors (with its own key paths and lines) come with the config's.
    """
    style = data.get("style") if isinstance(data, Mapping) else None
    if isinstance(style, Mapping) and "file" in style:
        extra = sorted(str(key) for key in style if key != "file")
        if extra:
            raise ConfigError("give style.file alone; put the other keys in the style file",
                              path=f"style.{extra[0]}", line=lines.get(("style", extra[0])), source=source)
        key: tuple[str, ...] = ("style", "file")
        file = style["file"]
    elif isinstance(style, str) and is_style_file(style):
        key, file = ("style",), style
    else:
        return data
    dotted, line = ".".join(key), lines.get(key)
    if not isinstance(file, str) or not is_style_file(file):
        raise ConfigError(f"expected the path of a .yaml or .yml style file, got {file!r:.60}", path=dotted,
                          line=line, source=source)
    path = Path(file).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise ConfigError(f"style file {path} not found (a relative path is read from the config's folder)",
                          path=dotted, line=line, source=source)
    read_style_file(path)
    return {**data, "style": str(path)}


def load_config(source: str | Path | Mapping[str, Any] | Config) -> Config:
    """A validated :class:`Config` from a YAML file path, a mapping, or a ``Config`` (returned as is)."""
    if isinstance(source, Config):
        return source
    if isinstance(source, Mapping):
        return from_mapping(Config, _style_file(source, {}, None, Path.cwd()))
    if not isinstance(source, (str, Path)):
        raise ConfigError(f"expected a YAML path or a mapping, got {type(source).__name__}")
    data, lines = read_yaml(source)
    if data is None:
        data = {}
    data = _style_file(data, lines, str(source), Path(source).parent)
    config = from_mapping(Config, data, lines=lines, source=str(source))
    return resolve_paths(config, Path(source).parent)
