"""Refusing what a style cannot render: tools, tool calls, tool results or reasoning in a record given to a
style without them, named by key with the styles that can, instead of silently leaving them out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import StyleError
from ..records import Conversation, Record

__all__ = ["refuse_unrenderable", "styles_that_render"]


def _needs(record: Conversation) -> Iterable[tuple[str, str]]:
    """(feature, key) for each thing in ``record`` beyond text turns, in record order."""
    if record.tools:
        yield "tools", "tools"
    for number, message in enumerate(record.messages):
        if message.reasoning is not None:
            yield "reasoning", f"messages[{number}].reasoning_content"
        if message.tool_calls:
            yield "tools", f"messages[{number}].tool_calls"
        if message.role == "tool":
            yield "tools", f"messages[{number}] (a tool result)"


def styles_that_render(feature: str, family: type) -> list[str]:
    """Names of the loaded style classes under ``family`` that render ``feature`` (``"tools"`` or
    ``"reasoning"``), sorted."""
    found: set[str] = set()
    pending: list[Any] = list(family.__subclasses__())
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if cls.name and feature in cls.renders:
            found.add(cls.name)
    return sorted(found)


def refuse_unrenderable(style: Any, record: Record, family: type) -> None:
    """Raise a :class:`StyleError` naming the key of the first tool or reasoning field ``style`` cannot render
    and the styles of ``family`` (the ``Style`` class) that can: a style never drops part of a record silently."""
    if not isinstance(record, Conversation) or style.renders >= _ALL_FEATURES:
        return
    for feature, key in _needs(record):
        if feature not in style.renders:
            able = ", ".join(styles_that_render(feature, family)) or "none loaded"
            why = getattr(style, "unrendered", {}).get(feature)  # a style that probes its template says why
            raise StyleError(f"key {key!r}: style {style.name!r} cannot render {_FEATURE_NAMES[feature]}"
                             + (f" ({why})" if why else "") + f"; styles that can: {able}")


_ALL_FEATURES = frozenset({"tools", "reasoning"})
_FEATURE_NAMES = {"tools": "tools, tool calls or tool results", "reasoning": "reasoning"}
