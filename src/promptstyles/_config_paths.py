"""Relative paths in a YAML config are read from the config's own folder, as a user writing it expects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ._config_sections import Config
from .errors import PromptStylesError
from .plugins import is_path

__all__ = ["beside", "resolve_paths", "resolve_plugin", "resolve_style_paths"]


def resolve_plugin(entry: str, base: Path) -> str:
    """A path entry made absolute; a module name whose file or package sits in ``base``, that path (a plugin
    module is looked for in ``base``, the config's folder or the current one, before the Python path)."""
    if is_path(entry):
        return str((base / Path(entry).expanduser()).resolve())
    for beside in (base / f"{entry}.py", base / entry / "__init__.py"):
        if beside.is_file():
            return str((beside if beside.name != "__init__.py" else beside.parent).resolve())
    return entry


def beside(value: str | None, base: Path) -> str | None:
    """A relative tokenizer path that exists beside the config file, or whose first folder does (a typo in
    ``models/qwen-instrcut``, reported as a missing folder there), made absolute; anything else as is (a
    registered name, a Hub id)."""
    if value is None or not (is_path(value) or value.endswith(".json")) or Path(value).expanduser().is_absolute():
        return value
    first = Path(value).parts[0]
    return str(base / value) if (base / value).exists() or (first != value and (base / first).is_dir()) else value


def _from_base(path: str, base: Path) -> str:
    return path if Path(path).expanduser().is_absolute() else str(base / path)


def resolve_paths(config: Config, base: Path) -> Config:
    """``config`` with its relative paths (data, cache, tokenizer, plugins, style path options) read from ``base``."""
    data = config.data
    updates: dict[str, Any] = {}
    if isinstance(data.path, tuple):
        updates["path"] = tuple(_from_base(path, base) for path in data.path)
    elif data.path is not None:
        updates["path"] = _from_base(data.path, base)
    if data.cache_dir is not None and not Path(data.cache_dir).expanduser().is_absolute():
        updates["cache_dir"] = str(base / data.cache_dir)
    if updates:
        config = replace(config, data=replace(data, **updates))
    tokenizer = config.tokenizer
    name, path = (beside(value, base) for value in (tokenizer.name, tokenizer.path))
    if (name, path) != (tokenizer.name, tokenizer.path):
        config = replace(config, tokenizer=replace(tokenizer, name=name or tokenizer.name, path=path))
    plugins = tuple(resolve_plugin(entry, base) for entry in config.plugins)
    if plugins != config.plugins:
        config = replace(config, plugins=plugins)
    if isinstance(config.style, str):
        options = resolve_style_paths(config.style, config.style_options, config.plugins, base)
        if options != config.style_options:
            config = replace(config, style_options=options)
    return config


def resolve_style_paths(style: str, options: Mapping[str, Any], plugins: Sequence[str], base: Path) -> dict[str, Any]:
    """``options`` with the relative paths among the style's ``path_options`` read from ``base`` (the config's
    folder), as data paths are; a style that cannot be looked up yet is left to fail when it is built."""
    from .styles.registry import default_registry

    try:
        style_class = default_registry(tuple(plugins)).info(style).style
    except PromptStylesError:
        return dict(options)
    resolved = dict(options)
    for key in style_class.path_options:
        value = resolved.get(key)
        if isinstance(value, str) and not Path(value).expanduser().is_absolute():
            resolved[key] = str(base / value)
    return resolved
