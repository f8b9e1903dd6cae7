"""The style registry: names and aliases to style classes, built from plugin registrations.

Built on demand from what the plugins registered, never mutated by callers. Rules: names and aliases
are lowercase; a name or alias claimed twice is an error naming both plugins; an unknown name lists the
closest names; a style of a plugin that failed to load fails with that plugin's error; an option the
style does not take lists the ones it does.
"""

from __future__ import annotations

import difflib
import functools
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import PluginError, StyleError
from ..plugins import PluginFailure, Registration, load_plugins, plugin_name
from ._base import Style
from .declarative import DeclarativeStyle, build_declarative_style, is_style_file, read_style_file

__all__ = [
    "StyleInfo",
    "StyleRegistry",
    "available_styles",
    "build_registry",
    "default_registry",
    "get_style",
]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class StyleInfo:
    """A registered style: its name, aliases, class and the plugin that provides it."""

    name: str
    aliases: tuple[str, ...]
    style: type[Style]
    plugin: str
    distribution: str | None

    @property
    def description(self) -> str:
        return self.style.description


def _label(registration: Registration) -> str:
    label = f"plugin {registration.plugin!r}"
    return f"{label} ({registration.distribution})" if registration.distribution else label


class StyleRegistry:
    """Look-up of styles by name or alias; see the module docstring for the rules."""

    def __init__(self, registrations: Iterable[Registration], failures: Sequence[PluginFailure] = ()) -> None:
        self._failures = list(failures)
        self._infos: dict[str, StyleInfo] = {}
        self._lookup: dict[str, str] = {}
        self._claims: dict[str, Registration] = {}
        self._conflicts: dict[str, str] = {}
        for registration in registrations:
            self._add(registration)

    def _add(self, registration: Registration) -> None:
        style = registration.style
        if not (isinstance(style, type) and issubclass(style, Style)):
            self._reject(registration, f"registered {style!r}, which is not a promptstyles.Style subclass")
            return
        names = (style.name, *registration.aliases)
        bad = [name for name in names if not isinstance(name, str) or not _NAME.match(name)]
        if bad:
            self._reject(
                registration,
                f"style {style.__name__} has invalid name or alias {bad[0]!r}: "
                "use lowercase letters, digits, '.', '_', '-'",
            )
            return
        clashes = [name for name in names if name in self._claims or name in self._conflicts]
        for name in clashes:
            if name in self._conflicts:
                continue
            first = self._claims[name]
            message = (
                f"style name {name!r} is claimed by both {_label(first)} and {_label(registration)}; "
                f"uninstall one of them or block it with PROMPTSTYLES_DISABLE_PLUGINS"
            )
            logger.error("%s", message)
            self._conflicts[name] = message
            owner = self._lookup.pop(name, None)
            if owner == name:  # the first claimant's own name is taken from it: drop it with its aliases
                self._infos.pop(name, None)
                self._lookup = {key: value for key, value in self._lookup.items() if value != name}
            elif owner is not None:  # only an alias is taken: the first claimant keeps its name
                kept = self._infos[owner]
                self._infos[owner] = replace(kept, aliases=tuple(a for a in kept.aliases if a != name))
        free = [name for name in names if name not in self._conflicts]
        if style.name not in free:
            return
        info = StyleInfo(style.name, tuple(a for a in registration.aliases if a in free), style,
                         registration.plugin, registration.distribution)
        self._infos[style.name] = info
        for name in free:
            self._claims[name] = registration
            self._lookup[name] = style.name

    def _reject(self, registration: Registration, message: str) -> None:
        failure = PluginFailure(
            registration.plugin, registration.distribution, "registration", StyleError(message),
            (str(getattr(registration.style, "name", "")),),
        )
        logger.warning("%s", failure.describe())
        self._failures.append(failure)

    @property
    def failures(self) -> list[PluginFailure]:
        """Plugins that failed to import or register."""
        return list(self._failures)

    @property
    def conflicts(self) -> list[str]:
        """Messages for names claimed by more than one plugin."""
        return list(self._conflicts.values())

    def infos(self) -> list[StyleInfo]:
        """Every usable style, sorted by name."""
        return [self._infos[name] for name in sorted(self._infos)]

    def names(self) -> list[str]:
        return sorted(self._infos)

    def info(self, name: str) -> StyleInfo:
        """The registered style called ``name`` (or with that alias); raises if unknown or unusable."""
        key = name.strip().lower() if isinstance(name, str) else name
        if key in self._conflicts:
            raise StyleError(self._conflicts[key])
        if key in self._lookup:
            return self._infos[self._lookup[key]]
        for failure in self._failures:
            if key == failure.plugin or key in failure.attempted:
                raise failure.as_error()
        known = sorted(self._lookup)
        close = difflib.get_close_matches(str(key), known, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else f"available: {', '.join(known) or 'none'}"
        message = f"unknown style {name!r}; {hint}"
        message += ("; a style from a plugin module that is not installed needs that module loaded "
                    "(--plugin MODULE on the command line, plugins: [MODULE] in a config)")
        if self._failures:
            message += " (plugins that failed to load: " + ", ".join(f.plugin for f in self._failures) + ")"
        raise StyleError(message)

    def require(self, plugins: Sequence[str], *, key: str | None = "plugins") -> None:
        """Raise if one of ``plugins`` (modules a config's ``key`` names) failed: asked for by name, it must load."""
        wanted = [plugin_name(entry) for entry in plugins]
        for failure in self._failures:
            if failure.plugin in wanted:
                where = f"{key}[{wanted.index(failure.plugin)}]: " if key else ""
                fix = f"remove it from {key}" if key else "leave it out"
                raise PluginError(f"{where}{failure.describe()}; fix the module or {fix}") from failure.error

    def get(self, name: str, **options: Any) -> Style:
        """An instance of the style, built with ``options`` (the YAML ``style_options``); a name ending in
        ``.yaml`` or ``.yml`` is a declarative style file (see :mod:`.declarative`)."""
        if isinstance(name, str) and is_style_file(name):
            return self.declared(read_style_file(name), **options)
        info = self.info(name)
        return info.style(**options)

    def declared(self, spec: DeclarativeStyle, **options: Any) -> Style:
        """A declared style; it may not take a registered name (which would silently shadow that style),
        unless it is that style frozen (``promptstyles freeze``)."""
        if spec.name in self and not (spec.frozen_from and spec.frozen_from.style == spec.name):
            info = self.info(spec.name)
            origin = f"plugin {info.plugin!r}" + (f" ({info.distribution})" if info.distribution else "")
            raise StyleError(f"declared style {spec.name!r} would shadow the registered style {info.name!r} "
                             f"from {origin}; give the declaration another name, e.g. '{spec.name}-custom'")
        return build_declarative_style(spec, **options)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.strip().lower() in self._lookup


def build_registry(plugins: Sequence[str] = (), *, disabled: Iterable[str] = ()) -> StyleRegistry:
    """Load every plugin afresh (installed entry points, then the ``plugins`` modules) into a registry."""
    loaded = load_plugins(tuple(plugins), disabled=tuple(disabled))
    return StyleRegistry(loaded.registrations, loaded.failures)


@functools.lru_cache(maxsize=8)
def default_registry(plugins: tuple[str, ...] = ()) -> StyleRegistry:
    """The registry for this process and these extra plugin modules, built once."""
    return build_registry(plugins)


def get_style(name: str, /, *, plugins: Sequence[str] = (), **options: Any) -> Style:
    """The style registered as ``name``, with ``options``; e.g. ``get_style("alpaca")``."""
    return default_registry(tuple(plugins)).get(name, **options)


def available_styles(plugins: Sequence[str] = ()) -> list[str]:
    """Names of every registered style, sorted."""
    return default_registry(tuple(plugins)).names()
