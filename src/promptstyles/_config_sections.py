"""The sections of a configuration as frozen dataclasses; :mod:`promptstyles.config` documents every key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from ._schema import Invalid, to_mapping
from .data.modes import DataKind, MaskMode, SpecialTokensMode, TruncationMode, TruncationPolicy
from .data.sources.loading import REFERENCE_DATA_URL
from .data.sources.ranges import RANGE_BYTES
from .distributed import from_environment, placement
from .styles._base import Style
from .styles.declarative import DeclarativeStyle, check_declared

__all__ = ["ClusterConfig", "CollateConfig", "Config", "DataConfig", "LoaderConfig", "SplitConfig", "TokenizerConfig",
           "check_preference"]


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
class ClusterConfig:
    """Where a build tokenizes when it leaves this machine: ``engine: ray`` at ``address`` (``auto``: the cluster
    this machine belongs to; ``local``: one started here), in chunks of ``chunk_records`` records (a streamed
    build: line-aligned byte ranges of about ``chunk_bytes``, which the workers read), by ``actors``
    actors (default: one per CPU of the cluster). ``results``: how the tokens come home, ``stream`` (through
    Ray, to this machine) or ``shards`` (files the workers write under ``data.cache_dir``, which every node must
    see at the same path; a rerun after a stop reuses them)."""

    engine: Literal["ray"] = "ray"
    address: str = "auto"
    chunk_records: int = 4096
    chunk_bytes: int = RANGE_BYTES
    actors: int | None = None
    results: Literal["stream", "shards"] = "stream"

    def __post_init__(self) -> None:
        if self.chunk_records < 1:
            raise Invalid("chunk_records", f"must be at least 1, got {self.chunk_records}")
        if self.chunk_bytes < 1:
            raise Invalid("chunk_bytes", f"must be at least 1 (bytes), got {self.chunk_bytes}")
        if self.actors is not None and self.actors < 1:
            raise Invalid("actors", f"must be at least 1 (or null: one per CPU of the cluster), got {self.actors}")


@dataclass(frozen=True)
class DataConfig:
    path: str | tuple[str, ...] | None = None
    url: str | None = None
    format: Literal["auto", "json", "jsonl", "parquet"] = "auto"
    kind: DataKind = "auto"
    fields: dict[str, str] = field(default_factory=dict)
    on_invalid: Literal["error", "skip"] = "error"
    cache: bool = True
    cache_dir: str | None = None
    streaming: bool = False
    num_proc: int | Literal["auto"] = 1
    turns: Literal["whole", "per_assistant"] = "whole"
    cluster: ClusterConfig | None = None
    split: SplitConfig = field(default_factory=SplitConfig)

    def __post_init__(self) -> None:
        if self.streaming and self.path is None:
            raise Invalid("streaming", "reads a local JSONL file in chunks: give data.path (a URL or the default "
                                       "dataset is read whole; set data.streaming: false)")
        if self.streaming and self.format == "json":
            raise Invalid("streaming", "reads JSON Lines in chunks, not a JSON array (data.format: json); convert "
                                       "the file to JSONL or set data.streaming: false")
        if self.streaming and self.turns != "whole":
            raise Invalid("turns", "per_assistant expands records read whole; set data.streaming: false")
        if self.kind == "preference":
            self._check_preference()
        if self.cluster is not None and self.cluster.results == "shards" and not self.cache:
            raise Invalid("cluster.results", "shards are written under data.cache_dir, which data.cache: false "
                                             "turns off; set data.cache: true or data.cluster.results: stream")
        if self.path is not None and self.url is not None:
            raise Invalid("url", "give either data.path or data.url, not both")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise Invalid("url", f"must start with http:// or https://, got {self.url!r}")
        if self.num_proc != "auto" and self.num_proc < 1:
            raise Invalid("num_proc", f"must be at least 1 (or auto: one process per core), got {self.num_proc}")
        known = ("instruction", "input", "output", "messages", "conversations")
        for key in self.fields:
            if key not in known:
                raise Invalid("fields", f"unknown field {key!r}; expected some of {', '.join(sorted(known))}")
        readers: dict[str, str] = {}
        for key in known:  # a key left out reads the column of its own name
            column = self.fields.get(key, key)
            if column in readers:
                mapped = key if key in self.fields else readers[column]
                raise Invalid(f"fields.{mapped}", f"{readers[column]} and {key} would both read column {column!r} "
                                                  "(a key not in data.fields reads the column of its own name); "
                                                  "give each its own column")
            readers[column] = key

    def _check_preference(self) -> None:
        """The data settings preference pairs cannot take, as an :class:`Invalid` naming the key."""
        if self.streaming:
            raise Invalid("streaming", "preference pairs are read whole, not streamed; set data.streaming: false")
        if self.cluster is not None:
            raise Invalid("cluster", "preference pairs are built on this machine (data.num_proc); remove data.cluster")
        if self.fields:
            raise Invalid("fields", "preference records are read by their own keys (instruction/input/chosen/"
                                    "rejected, or prompt/chosen/rejected); rename the dataset's keys to those")
        if self.turns != "whole":
            raise Invalid("turns", "a preference pair is one chosen and one rejected completion, not one example "
                                   "per assistant turn; set data.turns: whole")

    @property
    def source(self) -> str:
        """The path or URL records come from (the reference dataset by default); several paths joined by ", "."""
        if isinstance(self.path, tuple):
            return ", ".join(self.path)
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
    truncation_mode: TruncationMode = "keep_start"
    drop_overlong: bool = False
    pad_to_multiple_of: int | None = None
    attention_mask: bool = False
    packing: bool = False
    device: str = "cpu"
    train_reasoning: bool = True
    """False leaves an assistant's reasoning (and its markup) untrained under every mask but ``none``."""

    def __post_init__(self) -> None:
        if self.allowed_max_length is not None and self.allowed_max_length < 1:
            raise Invalid("allowed_max_length", f"must be at least 1, got {self.allowed_max_length}")
        if self.pad_to_multiple_of is not None and self.pad_to_multiple_of < 1:
            raise Invalid("pad_to_multiple_of", f"must be at least 1, got {self.pad_to_multiple_of}")
        if self.drop_overlong and self.allowed_max_length is None:
            raise Invalid("drop_overlong", "needs collate.allowed_max_length")
        if self.packing and self.allowed_max_length is None:
            raise Invalid("packing", "needs collate.allowed_max_length: the length of a packed row, e.g. 1024")


def check_preference(collate: CollateConfig) -> None:
    """The collate settings preference pairs cannot take, as an :class:`Invalid` naming the key."""
    if collate.packing:
        raise Invalid("collate.packing", "preference pairs are batched as chosen and rejected rows side by side, "
                                         "not packed; set collate.packing: false")
    if collate.mask == "assistant":
        raise Invalid("collate.mask", "'assistant' would train the earlier assistant turns of a pair's shared "
                                      "prompt; use prompt or last_assistant (only the completions)")


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

    def __post_init__(self) -> None:
        if isinstance(self.style, DeclarativeStyle) and self.tokenizer.special_tokens == "extend":
            try:
                check_declared(self.style)
            except Invalid as error:
                raise Invalid(f"style.{error.key}", str(error)) from None
        if self.data.kind == "preference":
            check_preference(self.collate)

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
