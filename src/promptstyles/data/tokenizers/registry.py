"""Tokenizers by name or path, from what plugins registered through ``register_tokenizers``.

The tiktoken encodings (``gpt2``, ``cl100k_base``, ...) and the loader of a model's own tokenizer (``hf``:
a folder, a ``tokenizer.json`` or a Hub id) are built-in plugins registered like any third-party one. A
name that no plugin registered but that reads as a path or a Hub id goes to the ``hf`` loader, so
``tokenizer: ../models/qwen2.5-7b-instruct`` works as a shorthand.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import TokenizerError
from ...plugins import PluginFailure, TokenizerRegistration, load_plugins
from .protocol import Tokenizer

__all__ = ["TokenizerInfo", "TokenizerRegistry", "default_tokenizer_registry", "load_tokenizer", "looks_like_path"]

logger = logging.getLogger(__name__)

PATH_LOADER = "hf"
"""The registered tokenizer that loads paths and Hub ids."""


@dataclass(frozen=True)
class TokenizerInfo:
    """A registered tokenizer: its name, factory and description, and the plugin that provides it."""

    name: str
    factory: Callable[..., Tokenizer]
    description: str
    plugin: str
    distribution: str | None


def looks_like_path(spec: str) -> bool:
    """Whether a tokenizer name is rather a path or a Hub id (``owner/name``)."""
    return "/" in spec or os.sep in spec or spec.endswith(".json") or Path(spec).expanduser().exists()


class TokenizerRegistry:
    """Look-up of registered tokenizers; a name claimed twice keeps the first claim and logs the second."""

    def __init__(self, registrations: Iterable[TokenizerRegistration], failures: Sequence[PluginFailure] = ()) -> None:
        self._infos: dict[str, TokenizerInfo] = {}
        self.failures = list(failures)
        for registration in registrations:
            name, factory, description = registration.name, registration.factory, registration.description
            if name in self._infos:
                logger.warning("tokenizer %r of plugin %r is already registered by plugin %r; ignored", name,
                               registration.plugin, self._infos[name].plugin)
                continue
            self._infos[name] = TokenizerInfo(name, factory, description, registration.plugin,
                                              registration.distribution)

    def names(self) -> list[str]:
        return sorted(self._infos)

    def info(self, name: str) -> TokenizerInfo:
        if name in self._infos:
            return self._infos[name]
        for failure in self.failures:
            if failure.plugin in (name, PATH_LOADER if looks_like_path(name) else None):
                raise TokenizerError(f"tokenizer {name!r}: {failure.describe()}") from failure.error
        close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else f"registered: {', '.join(self.names()) or 'none'}"
        raise TokenizerError(f"unknown tokenizer {name!r}; {hint} (or give a model folder, a tokenizer.json or a "
                             "Hugging Face Hub id)")

    def load(self, name: str | None = None, *, path: str | os.PathLike[str] | None = None,
             special_tokens: Sequence[str] = ()) -> Tokenizer:
        """The tokenizer ``name`` (a registered name, or a path or Hub id), or the one at ``path``."""
        if path is None and name is not None and name not in self._infos and looks_like_path(name):
            name, path = None, name
        info = self.info(name if name is not None else PATH_LOADER if path is not None else "gpt2")
        options: dict[str, Any] = {"special_tokens": tuple(special_tokens)}
        if path is not None:
            options["path"] = str(path)
        return info.factory(**options)


@functools.lru_cache(maxsize=8)
def default_tokenizer_registry(plugins: tuple[str, ...] = ()) -> TokenizerRegistry:
    """The tokenizers every installed plugin (and these extra plugin modules) registered, found once."""
    loaded = load_plugins(plugins)
    return TokenizerRegistry(loaded.tokenizers, loaded.failures)


def load_tokenizer(name: str | None = None, *, path: str | os.PathLike[str] | None = None,
                   special_tokens: Sequence[str] = (), plugins: Sequence[str] = ()) -> Tokenizer:
    """A tokenizer by registered name (``gpt2``), model folder, ``tokenizer.json`` or Hub id.

    ``special_tokens`` are the markup tokens to give new ids where the tokenizer can add them (tiktoken's
    ``extend`` mode); a model's own tokenizer has its special tokens already and ignores them.
    """
    return default_tokenizer_registry(tuple(plugins)).load(name, path=path, special_tokens=special_tokens)


def get_tokenizer(
    name: str | None = None, *, path: str | os.PathLike[str] | None = None, special_tokens: Sequence[str] = (),
    plugins: Sequence[str] = (),
) -> Tokenizer:
    """A tokenizer registered by a plugin (default ``gpt2``), or a model's own from a folder, ``tokenizer.json``
    or Hub id (``path``, or a ``name`` that reads as one).

    ``special_tokens`` are a style's markup tokens to give ids where the tokenizer can add them (tiktoken,
    ``extend`` mode); ``plugins`` are extra plugin modules to load. See :func:`load_tokenizer`.
    """
    return load_tokenizer(name, path=path, special_tokens=special_tokens, plugins=plugins)
