"""Plugin discovery and loading, with pluggy.

Order: the plugins of the ``promptstyles`` distribution itself (the built-in Alpaca style), then every
other installed ``promptstyles`` entry point, then modules named in a config (``plugins: [my_module]``,
or a path to a ``.py`` file or package folder). Bundled and third-party plugins go through the same path.
A plugin that raises anything on import or registration (not only ``ImportError``: a ``RuntimeError``,
a ``SyntaxError``, even ``sys.exit()``) is recorded as a :class:`PluginFailure` naming it and its
distribution, and the rest still load; selecting one of its styles re-raises the cause.
``PROMPTSTYLES_DISABLE_PLUGINS=name,other`` blocks plugins by name.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError

__all__ = [
    "DISABLE_ENV",
    "ENTRY_POINT_GROUP",
    "PluginFailure",
    "PluginLoad",
    "Registration",
    "TokenizerRegistration",
    "is_path",
    "load_plugins",
    "plugin_name",
]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = hookspecs.PROJECT
DISABLE_ENV = "PROMPTSTYLES_DISABLE_PLUGINS"
_CORE_DISTRIBUTION = "promptstyles"
_PLUGIN_ERRORS = (Exception, SystemExit)
"""What a plugin may raise without taking the others down (a Ctrl-C still stops everything)."""


@dataclass(frozen=True)
class Registration:
    """One ``register(style, aliases=...)`` call, with the plugin that made it."""

    style: Any
    aliases: tuple[str, ...]
    plugin: str
    distribution: str | None


@dataclass(frozen=True)
class TokenizerRegistration:
    """One ``register(name, factory, description)`` call of ``register_tokenizers``, with the plugin that made it."""

    name: str
    factory: Any
    description: str
    plugin: str
    distribution: str | None


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be imported or whose ``register_styles`` raised."""

    plugin: str
    distribution: str | None
    stage: str
    error: BaseException
    attempted: tuple[str, ...] = ()
    """Style names the plugin registered before it failed (dropped with the plugin)."""
    location: str | None = None
    """The file or folder a ``plugins:`` path entry pointed at."""

    def describe(self) -> str:
        where = f"plugin {self.plugin!r}"
        if self.distribution:
            where += f" (distribution {self.distribution})"
        if self.location:
            where += f" (from {self.location})"
        return f"{where} failed during {self.stage}: {type(self.error).__name__}: {self.error}"

    def as_error(self) -> PluginError:
        error = PluginError(self.describe())
        error.__cause__ = self.error
        return error


@dataclass
class PluginLoad:
    """What loading produced: the registrations in order, failures, and the loaded plugin names."""

    registrations: list[Registration] = field(default_factory=list)
    tokenizers: list[TokenizerRegistration] = field(default_factory=list)
    failures: list[PluginFailure] = field(default_factory=list)
    plugins: list[tuple[str, str | None]] = field(default_factory=list)


def _distribution_label(entry_point: metadata.EntryPoint) -> str | None:
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return None
    return f"{dist.metadata['Name']} {dist.version}"


def _entry_points() -> list[metadata.EntryPoint]:
    found = metadata.entry_points(group=ENTRY_POINT_GROUP)
    unique: dict[tuple[str, str], metadata.EntryPoint] = {}
    for entry_point in found:
        unique.setdefault((entry_point.name, entry_point.value), entry_point)

    def order(entry_point: metadata.EntryPoint) -> tuple[int, str, str]:
        dist = getattr(entry_point, "dist", None)
        dist_name = (dist.metadata["Name"] or "") if dist is not None else ""
        return (0 if dist_name == _CORE_DISTRIBUTION else 1, dist_name.lower(), entry_point.name)

    return sorted(unique.values(), key=order)


def _disabled(extra: Iterable[str]) -> set[str]:
    names = {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()}
    return names | set(extra)


def is_path(entry: str) -> bool:
    """Whether a ``plugins:`` entry is a path (to a ``.py`` file or package folder) rather than a module name."""
    return "/" in entry or os.sep in entry or entry.endswith(".py")


def plugin_name(entry: str) -> str:
    """The plugin name of a ``plugins:`` entry: the module name itself, or a path's module name."""
    if not is_path(entry):
        return entry
    path = Path(entry)
    return path.stem if path.suffix == ".py" else path.name


def _import_path(entry: str) -> ModuleType:
    """Import the module at ``entry`` (a ``.py`` file or package folder) with its folder on ``sys.path``
    only while it imports, so sibling imports work and ``sys.path`` is left as it was."""
    path = Path(entry).expanduser().resolve()
    name = plugin_name(entry)
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if not name.isidentifier():
        raise ImportError(f"{path.name!r} is not a module name: use letters, digits and '_'")
    folder = str(path.parent)
    sys.path.insert(0, folder)
    try:
        module = importlib.import_module(name)
    finally:
        sys.path.remove(folder)
    found = Path(getattr(module, "__file__", None) or "").resolve()
    if path not in (found, found.parent):
        raise ImportError(f"a module {name!r} is already imported from {found}; rename one of them")
    return module


def _manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    return manager


def load_plugins(modules: Sequence[str] = (), *, disabled: Iterable[str] = ()) -> PluginLoad:
    """Import and register every plugin, then collect each one's ``register_styles`` calls."""
    manager = _manager()
    result = PluginLoad()
    blocked = _disabled(disabled)
    distributions: dict[str, str | None] = {}

    def add(name: str, distribution: str | None, load: Any, location: str | None = None, *,
            named: bool = False) -> None:
        if name in blocked:
            logger.info("plugin %r is disabled", name)
            return
        try:
            plugin: ModuleType = load()
            manager.register(plugin, name=name)
        except _PLUGIN_ERRORS as error:  # a broken plugin must not take the others down
            failure = PluginFailure(name, distribution, "import", error, location=location)
            # An installed plugin is skipped with a warning; a module the caller named is the caller's error to raise.
            logger.log(logging.DEBUG if named else logging.WARNING, "%s", failure.describe())
            result.failures.append(failure)
            return
        distributions[name] = distribution
        result.plugins.append((name, distribution))

    for entry_point in _entry_points():
        add(entry_point.name, _distribution_label(entry_point), entry_point.load)
    for module in modules:
        if is_path(module):
            add(plugin_name(module), None, lambda module=module: _import_path(module), location=module, named=True)
        else:
            add(module, None, lambda module=module: importlib.import_module(module), named=True)

    for implementation in manager.hook.register_styles.get_hookimpls():
        _call_register(implementation, distributions.get(implementation.plugin_name), result, tokenizers=False)
    for implementation in manager.hook.register_tokenizers.get_hookimpls():
        _call_register(implementation, distributions.get(implementation.plugin_name), result, tokenizers=True)
    return result


def _call_register(implementation: Any, distribution: str | None, result: PluginLoad, *, tokenizers: bool) -> None:
    """Call one plugin's ``register_styles`` (or ``register_tokenizers``) on its own, so a failing plugin can
    be dropped without losing the others."""
    plugin = implementation.plugin_name
    collected: list[Any] = []

    def register(style: Any, aliases: Iterable[str] = ()) -> None:
        if isinstance(aliases, str):
            aliases = (aliases,)
        collected.append(Registration(style, tuple(aliases), plugin, distribution))

    def register_tokenizer(name: str, factory: Any, description: str = "") -> None:
        collected.append(TokenizerRegistration(name, factory, description, plugin, distribution))

    try:
        implementation.function(**{arg: register_tokenizer if tokenizers else register
                                   for arg in implementation.argnames})
    except _PLUGIN_ERRORS as error:
        attempted = tuple(str(getattr(r, "name", None) or getattr(r.style, "name", "")) for r in collected)
        failure = PluginFailure(plugin, distribution, "registration", error, attempted)
        logger.warning("%s", failure.describe())
        result.failures.append(failure)
        return
    (result.tokenizers if tokenizers else result.registrations).extend(collected)
