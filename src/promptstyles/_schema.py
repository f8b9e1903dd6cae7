"""Typed configuration from YAML: safe loading, line numbers, and dataclass conversion with key paths.

Every configuration in the project (loaders, experiments) is a tree of frozen dataclasses. This module
turns a mapping into such a tree, rejecting unknown keys and wrong types with the dotted key path and the
YAML line, so the same schema serves YAML files and plain Python dicts.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

from .errors import ConfigError

__all__ = ["Invalid", "Lines", "from_mapping", "read_yaml", "to_mapping"]

T = TypeVar("T")
Lines = dict[tuple[str, ...], int]


class Invalid(ValueError):
    """Raised by a dataclass's ``__post_init__`` to reject a value; ``key`` names the field."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _collect_lines(node: yaml.Node, path: tuple[str, ...], lines: Lines, source: str) -> None:
    """The line of every key path under ``node``; a key given twice in one mapping is an error (YAML would
    keep the last value without a word)."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key, line = str(key_node.value), key_node.start_mark.line + 1
            key_path = (*path, key)
            if key in seen and key_node.tag != "tag:yaml.org,2002:merge":
                raise ConfigError(f"key {key!r} is given twice (lines {seen[key]} and {line}), and YAML would keep "
                                  "the last silently; remove one", path=_dotted(key_path), line=line, source=source)
            seen[key] = line
            _collect_lines(value_node, key_path, lines, source)
            lines[key_path] = line  # errors point at the key, not its value
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(item, (*path, str(index)), lines, source)


def read_yaml(path: str | Path) -> tuple[Any, Lines]:
    """Parse a YAML file safely; returns the data and the line of every key path."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read: {error}", source=str(path)) from error
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"malformed YAML: {problem}", source=str(path), line=line) from error
    lines: Lines = {}
    if node is not None:
        _collect_lines(node, (), lines, str(path))
    return data, lines


def _dotted(path: tuple[str, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def _fail(message: str, path: tuple[str, ...], lines: Lines, source: str | None) -> ConfigError:
    return ConfigError(message, path=_dotted(path), line=lines.get(path), source=source)


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " or ".join(repr(v) for v in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "null"
    if origin is not None:
        return getattr(origin, "__name__", str(tp))
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, path: tuple[str, ...], lines: Lines, source: str | None) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(value, option, path, lines, source)
            except ConfigError as error:
                errors.append((option, error))
        if isinstance(value, Mapping):  # a mapping was meant as the mapping-shaped option: report its error
            shaped = [(o, e) for o, e in errors if dataclasses.is_dataclass(o) or typing.get_origin(o) is dict]
            errors = shaped or errors
        if len(errors) == 1:
            raise errors[0][1]
        raise _fail(f"expected {_type_name(tp)}, got {type(value).__name__} {value!r:.60}", path, lines, source)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed or isinstance(value, bool) != any(isinstance(a, bool) for a in allowed):
            expected = ", ".join(repr(a) for a in allowed)
            raise _fail(f"expected one of {expected}, got {value!r:.60}", path, lines, source)
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, path=path, lines=lines, source=source)
    if origin in (list, tuple, typing.Sequence) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _fail(f"expected a list, got {type(value).__name__} {value!r:.60}", path, lines, source)
        args = typing.get_args(tp)
        item_type = args[0] if args else Any
        return tuple(_convert(item, item_type, (*path, str(i)), lines, source) for i, item in enumerate(value))
    if origin in (dict, Mapping, typing.Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            raise _fail(f"expected a mapping, got {type(value).__name__} {value!r:.60}", path, lines, source)
        args = typing.get_args(tp) or (str, Any)
        return {
            _convert(k, args[0], (*path, str(k)), lines, source): _convert(v, args[1], (*path, str(k)), lines, source)
            for k, v in value.items()
        }
    if tp is bool:
        if not isinstance(value, bool):
            raise _fail(f"expected true or false, got {value!r:.60}", path, lines, source)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(f"expected an integer, got {type(value).__name__} {value!r:.60}", path, lines, source)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(f"expected a number, got {type(value).__name__} {value!r:.60}", path, lines, source)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise _fail(f"expected a string, got {type(value).__name__} {value!r:.60}", path, lines, source)
        return value
    raise TypeError(f"unsupported config type {tp!r} at {_dotted(path)}")


def from_mapping(
    cls: type[T],
    data: Any,
    *,
    path: tuple[str, ...] = (),
    lines: Lines | None = None,
    source: str | None = None,
) -> T:
    """Build dataclass ``cls`` from ``data``, recursively; unknown keys and wrong types raise ConfigError."""
    lines = lines if lines is not None else {}
    if isinstance(data, cls):
        return data
    if data is None:
        data = {}
    shorthand = getattr(cls, "shorthand", None)  # a class may take a string as its one named field
    if isinstance(data, str) and isinstance(shorthand, str):
        data = {shorthand: data}
    if not isinstance(data, Mapping):
        raise _fail(f"expected a mapping, got {type(data).__name__} {data!r:.60}", path, lines, source)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    values = {}
    for key, value in data.items():
        key_path = (*path, str(key))
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise _fail(f"unknown key {key!r}; expected one of: {known}", key_path, lines, source)
        values[key] = _convert(value, hints[key], key_path, lines, source)
    try:
        return cls(**values)
    except Invalid as error:  # a key may be dotted, for a check that spans sections (``style.user.prefix``)
        key_path = (*path, *error.key.split("."))
        raise _fail(str(error), key_path, lines, source) from None


def to_mapping(value: Any) -> Any:
    """The plain-data form of a config (dicts, lists and scalars), e.g. to write it back as YAML."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_mapping(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
    if isinstance(value, (list, tuple)):
        return [to_mapping(v) for v in value]
    if isinstance(value, Mapping):
        return {k: to_mapping(v) for k, v in value.items()}
    return value
