"""Tool definitions and tool calls in records: read from the OpenAI / Hugging Face message format, checked once.

A conversation may declare ``tools`` (JSON-schema function specs), an assistant message may carry
``tool_calls``, and a ``tool`` message answers one. Everything a template needs is checked here, with the
record and key named, so a style never meets a malformed call. Arguments are kept both parsed and, when the
dataset gave them as a string of JSON, as that string: some templates write the string as given, others
write the object through ``tojson``, and :func:`tojson` is byte for byte the filter transformers gives them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import RecordError

__all__ = ["ToolCall", "parse_tool_calls", "parse_tools", "tojson"]


def tojson(value: Any, *, indent: int | None = None) -> str:
    """JSON as chat templates write it: insertion order, ``", "`` and ``": "``, no ASCII escaping.

    This is transformers' ``tojson`` filter (Jinja's own would sort keys and escape HTML)."""
    return json.dumps(value, ensure_ascii=False, indent=indent)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function call of an assistant turn.

    ``arguments`` is the parsed object; ``arguments_text`` the string of JSON the dataset gave, if it gave one.
    """

    name: str
    arguments: Mapping[str, Any]
    id: str | None = None
    arguments_text: str | None = None

    @property
    def arguments_json(self) -> str:
        """The arguments as a template that writes strings as given does: the dataset's string, else ``tojson``."""
        return self.arguments_text if self.arguments_text is not None else tojson(self.arguments)


def _fail(message: str, key: str, index: int | None, source: str | None) -> RecordError:
    return RecordError(message, index=index, key=key, source=source)


def _arguments(value: Any, key: str, index: int | None, source: str | None) -> tuple[Mapping[str, Any], str | None]:
    text = None
    if isinstance(value, str):
        text = value
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise _fail(f"arguments are not JSON ({error.msg} at character {error.pos}): {text!r:.60}; give an "
                        "object or a string of JSON", key, index, source) from None
    if not isinstance(value, Mapping):
        raise _fail(f"arguments must be a JSON object (or a string of one), got {type(value).__name__}",
                    key, index, source)
    return value, text


def parse_tool_calls(raw: Any, key: str, *, index: int | None, source: str | None) -> tuple[ToolCall, ...]:
    """``tool_calls`` of an assistant message: ``[{"id", "type": "function", "function": {"name",
    "arguments"}}]``; a call may also be the bare ``{"name", "arguments"}`` (as ShareGPT tool data holds it)."""
    if not isinstance(raw, list) or not raw:
        raise _fail("expected a non-empty list of tool calls", key, index, source)
    calls = []
    for number, call in enumerate(raw):
        where = f"{key}[{number}]"
        if not isinstance(call, Mapping):
            raise _fail(f"expected a mapping, got {type(call).__name__}", where, index, source)
        if call.get("type", "function") != "function":
            raise _fail(f"unknown tool call type {call['type']!r}; expected 'function'", f"{where}.type", index,
                        source)
        function = call.get("function", call)
        inner = f"{where}.function" if "function" in call else where
        if not isinstance(function, Mapping):
            raise _fail(f"expected a mapping, got {type(function).__name__}", inner, index, source)
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise _fail("a tool call needs a non-empty string 'name'", f"{inner}.name", index, source)
        if "arguments" not in function:
            raise _fail("missing key", f"{inner}.arguments", index, source)
        arguments, text = _arguments(function["arguments"], f"{inner}.arguments", index, source)
        call_id = call.get("id")
        if call_id is not None and not isinstance(call_id, str):
            raise _fail(f"expected a string id, got {type(call_id).__name__}", f"{where}.id", index, source)
        calls.append(ToolCall(name, arguments, call_id, text))
    return tuple(calls)


def parse_tools(raw: Any, key: str, *, index: int | None, source: str | None) -> tuple[Mapping[str, Any], ...]:
    """Record-level ``tools``: a list of ``{"type": "function", "function": {"name", ...}}`` specs (a string of
    such a list, as ShareGPT datasets store it, is read too). A bare function spec ``{"name", "parameters"}`` is
    wrapped as OpenAI sends it, so every template reads one shape."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except json.JSONDecodeError as error:
            raise _fail(f"tools are not JSON ({error.msg} at character {error.pos})", key, index, source) from None
    if not isinstance(raw, list):
        raise _fail(f"expected a list of tool specs, got {type(raw).__name__}", key, index, source)
    tools = []
    for number, spec in enumerate(raw):
        where = f"{key}[{number}]"
        if not isinstance(spec, Mapping):
            raise _fail(f"expected a mapping, got {type(spec).__name__}", where, index, source)
        if "function" not in spec and "name" in spec:
            spec = {"type": "function", "function": spec}
        function = spec.get("function")
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str) or not function["name"]:
            raise _fail("a tool spec is {'type': 'function', 'function': {'name': ..., 'parameters': ...}}",
                        where, index, source)
        tools.append(spec)
    return tuple(tools)
