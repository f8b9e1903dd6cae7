"""Tool calls read back from generated text: the inverse of how a style writes them, held to the same rules.

A comparison asks whether a fine-tuned model writes tool calls a program could run, so reading them is strict:
a call counts as parsed only when its JSON loads whole, holds a non-empty string name and holds its arguments as
an object under the key the style writes (``arguments``, or ``parameters`` for Llama 3.1). Nothing is repaired
or guessed; a call that fails keeps the reason, so a report can say what went wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ParsedCall", "read_call", "read_call_list", "read_call_object"]


@dataclass(frozen=True, slots=True)
class ParsedCall:
    """One tool call found in generated text: its name and arguments when it parsed, else ``problem`` says why."""

    text: str
    name: str | None = None
    arguments: Mapping[str, Any] | None = None
    problem: str | None = None

    @property
    def parsed(self) -> bool:
        return self.problem is None

    def names(self, tools: Iterable[Mapping[str, Any]]) -> bool:
        """Whether the call parsed and names one of ``tools`` (record-level specs, as records hold them)."""
        declared = {spec["function"]["name"] for spec in tools if isinstance(spec.get("function"), Mapping)}
        return self.parsed and self.name in declared


def read_call_object(value: Any, text: str, *, arguments: str = "arguments") -> ParsedCall:
    """A call from already loaded JSON: an object with a non-empty string ``name`` and an object under
    ``arguments``; ``text`` is what it was read from, kept for the report."""
    if not isinstance(value, Mapping):
        return ParsedCall(text, problem=f"a call is a JSON object, got {type(value).__name__}")
    name = value.get("name")
    if not isinstance(name, str) or not name:
        return ParsedCall(text, problem="no non-empty string 'name'")
    if not isinstance(value.get(arguments), Mapping):
        return ParsedCall(text, name, problem=f"no object {arguments!r}")
    return ParsedCall(text, name, value[arguments])


def _load(text: str) -> tuple[Any, ParsedCall | None]:
    """The JSON ``text`` holds whole (surrounding whitespace aside), or a failed call saying why not."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as error:
        return None, ParsedCall(text, problem=f"not JSON: {error.msg} (character {error.pos})")


def read_call(text: str, *, arguments: str = "arguments") -> ParsedCall:
    """A call from its JSON text, which must load whole."""
    value, failed = _load(text)
    return failed or read_call_object(value, text, arguments=arguments)


def read_call_list(text: str, *, arguments: str = "arguments") -> tuple[ParsedCall, ...]:
    """Calls from the JSON text of a non-empty list of them (Mistral's ``[TOOL_CALLS]``), each read on its own;
    text that is no such list is one failed call, since how many it meant cannot be known."""
    value, failed = _load(text)
    if failed is not None:
        return (failed,)
    if not isinstance(value, list) or not value:
        return (ParsedCall(text, problem="not a non-empty JSON list of calls"),)
    return tuple(read_call_object(item, json.dumps(item, ensure_ascii=False), arguments=arguments) for item in value)
