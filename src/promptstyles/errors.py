"""One small exception hierarchy, so callers can catch everything the library raises with one class."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "ModelError",
    "PluginError",
    "PromptStylesError",
    "RecordError",
    "StyleError",
    "TokenizerError",
    "UnknownMarkupError",
]


class PromptStylesError(Exception):
    """Base class of every error the library raises on purpose."""


class ConfigError(PromptStylesError):
    """A configuration value is missing, unknown or of the wrong type.

    The message starts with the dotted key path (and the YAML line when known) so a user can find it.
    """

    def __init__(self, message: str, *, path: str = "", line: int | None = None, source: str | None = None):
        self.path = path
        self.line = line
        self.source = source
        where = path
        if source:
            where = f"{source}: {where}" if path else source
        where = where or "config"
        if line is not None:
            where = f"{where} (line {line})"
        super().__init__(f"{where}: {message}")


class PluginError(PromptStylesError):
    """A plugin failed to import or to register its styles; names the plugin and its distribution."""


class StyleError(PromptStylesError):
    """A style is unknown, claimed twice, misconfigured, or cannot render a record."""


class RecordError(PromptStylesError):
    """A data record is malformed; names the record index and the key at fault."""

    def __init__(self, message: str, *, index: int | None = None, key: str | None = None, source: str | None = None):
        self.index = index
        self.key = key
        self.source = source
        where = []
        if source:
            where.append(str(source))
        if index is not None:
            where.append(f"record {index}")
        if key is not None:
            where.append(f"key {key!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class DataError(PromptStylesError):
    """A dataset cannot be read, downloaded, split or batched."""


class TokenizerError(PromptStylesError):
    """A tokenizer cannot be created or its files are missing."""


class UnknownMarkupError(TokenizerError):
    """A style writes markup that is not a special token of the model's tokenizer.

    Its own class because a comparison may skip such a style (``on_unknown_markup: skip``) while any other
    tokenizer failure stays an error.
    """


class ModelError(PromptStylesError):
    """A model cannot be built, or a checkpoint does not fit it; names the tensor key and the shapes."""
