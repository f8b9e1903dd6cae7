"""Plugin discovery and loading, with pluggy.

Order: the plugins of the ``promptstyles`` distribution itself (the built-in Alpaca style), then every
other installed ``promptstyles`` entry point, then modules named in a config (``plugins: [my_module]``).
Bundled and third-party plugins go through the same path. A plugin that fails to import or to register
is recorded as a :class:`PluginFailure` and the rest still load; selecting one of its styles re-raises
the cause. ``PROMPTSTYLES_DISABLE_PLUGINS=name,other`` blocks plugins by name.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
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
    "load_plugins",
]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = hookspecs.PROJECT
DISABLE_ENV = "PROMPTSTYLES_DISABLE_PLUGINS"
_CORE_DISTRIBUTION = "promptstyles"


@dataclass(frozen=True)
class Registration:
    """One ``register(style, aliases=...)`` call, with the plugin that made it."""

    style: Any
    aliases: tuple[str, ...]
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

    def describe(self) -> str:
        where = f"plugin {self.plugin!r}"
        if self.distribution:
            where += f" (distribution {self.distribution})"
        return f"{where} failed during {self.stage}: {type(self.error).__name__}: {self.error}"

    def as_error(self) -> PluginError:
        error = PluginError(self.describe())
        error.__cause__ = self.error
        return error


@dataclass
class PluginLoad:
    """What loading produced: the registrations in order, failures, and the loaded plugin names."""

    registrations: list[Registration] = field(default_factory=list)
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

    def add(name: str, distribution: str | None, load: Any) -> None:
        if name in blocked:
            logger.info("plugin %r is disabled", name)
            return
        try:
            plugin: ModuleType = load()
            manager.register(plugin, name=name)
        except Exception as error:  # a broken plugin must not take the others down
            failure = PluginFailure(name, distribution, "import", error)
            logger.warning("%s", failure.describe())
            result.failures.append(failure)
            return
        distributions[name] = distribution
        result.plugins.append((name, distribution))

    for entry_point in _entry_points():
        add(entry_point.name, _distribution_label(entry_point), entry_point.load)
    for module in modules:
        add(module, None, lambda module=module: importlib.import_module(module))

    for implementation in manager.hook.register_styles.get_hookimpls():
        _call_register_styles(implementation, distributions.get(implementation.plugin_name), result)
    return result


def _call_register_styles(implementation: Any, distribution: str | None, result: PluginLoad) -> None:
    """Call one plugin's hook on its own, so a failing plugin can be dropped without losing the others."""
    plugin = implementation.plugin_name
    collected: list[Registration] = []

    def register(style: Any, aliases: Iterable[str] = ()) -> None:
        if isinstance(aliases, str):
            aliases = (aliases,)
        collected.append(Registration(style, tuple(aliases), plugin, distribution))

    try:
        implementation.function(**{arg: register for arg in implementation.argnames})
    except Exception as error:
        attempted = tuple(str(getattr(r.style, "name", "")) for r in collected)
        failure = PluginFailure(plugin, distribution, "registration", error, attempted)
        logger.warning("%s", failure.describe())
        result.failures.append(failure)
        return
    result.registrations.extend(collected)
