"""A conversation's shadow: the same messages and tools with every character of each record field replaced by a
private-use character of that field's own.

Rendered by a chat template, the shadow says where each field's text landed: a character of the output is the
field's text exactly when it is the field's shadow character. Characters a template treats specially stay as
they are (whitespace, which it may trim; ``"``, ``\\`` and control characters, which ``tojson`` escapes), so the
shadow renders to the same structure, and mapping it back must give the real render character for character.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import StyleError
from ._base import PartKind

__all__ = ["Field", "Shadow", "plain"]

_PLANES = ((0xF0000, 0xFFFFE), (0x100000, 0x10FFFE))
"""Supplementary private-use planes 15 and 16: characters no tokenizer, template or dataset gives meaning to."""
_CAPACITY = sum(end - start for start, end in _PLANES)
_ROLE_KINDS = {"system": PartKind.SYSTEM, "user": PartKind.PROMPT, "assistant": PartKind.RESPONSE,
               "tool": PartKind.TOOL_RESULT}


def plain(char: str) -> bool:
    """Whether ``char`` stays itself in a shadow: whitespace, a quote, a backslash or a control character."""
    return char.isspace() or char in '"\\' or char < " "


@dataclass(frozen=True)
class Field:
    """One piece of a record as a template sees it: whose it is (``message``, -1 for the tool definitions), what
    part kind its text is, the record key naming it, and its text (for tool calls and definitions, their
    strings joined)."""

    message: int
    role: str
    kind: PartKind
    key: str
    text: str
    required: bool = True
    """Whether the template must write it (a call's id or a result's call id may be left out)."""


class Shadow:
    """The shadow of one conversation: ``messages`` and ``tools`` to render, ``fields`` by number, and the
    map back from shadow characters to ``(field number, character)``."""

    def __init__(self, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None) -> None:
        self.fields: list[Field] = []
        self._tables: dict[int, dict[int, str]] = {}
        """Per field, its characters' shadows, as ``str.translate`` takes them."""
        self._fields_by_code: list[int] = []
        self._chars_by_code: list[int] = []
        self.messages = [self._message(number, message) for number, message in enumerate(messages)]
        self.tools = None
        if tools is not None:
            field = self._field(-1, "tools", PartKind.TOOLS, "tools", "")
            self.tools = [self._schema(field, tool, "") for tool in tools]

    def decode(self, ghost: str) -> tuple[np.ndarray, np.ndarray]:
        """For each character of a shadow render: its field's number (-1 for the template's own text), and its
        code point mapped back to the record's own character."""
        points = np.frombuffer(ghost.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        index = np.where(points >= _PLANES[1][0], points - _PLANES[1][0] + (_PLANES[0][1] - _PLANES[0][0]),
                         points - _PLANES[0][0])
        shadowed = (points >= _PLANES[0][0]) & (index < len(self._fields_by_code))
        labels = np.full(len(points), -1, dtype=np.int32)
        labels[shadowed] = np.asarray(self._fields_by_code, dtype=np.int32)[index[shadowed]]
        points[shadowed] = np.asarray(self._chars_by_code, dtype=np.int64)[index[shadowed]]
        return labels, points

    # -- building ---------------------------------------------------------------------------------

    def _field(self, message: int, role: str, kind: PartKind, key: str, text: str, required: bool = True) -> int:
        self.fields.append(Field(message, role, kind, key, text, required))
        return len(self.fields) - 1

    def _text(self, field: int, text: str) -> str:
        table = self._tables.setdefault(field, {})
        for char in set(text):
            if ord(char) not in table and not plain(char):
                table[ord(char)] = self._next()
                self._fields_by_code.append(field)
                self._chars_by_code.append(ord(char))
        if text and field >= 0:
            old = self.fields[field]
            self.fields[field] = Field(old.message, old.role, old.kind, old.key, old.text + text, old.required)
        return text.translate(table)

    def _next(self) -> str:
        number = len(self._fields_by_code)
        for start, end in _PLANES:
            if number < end - start:
                return chr(start + number)
            number -= end - start
        raise StyleError(f"style 'chat-template': a record with more than {_CAPACITY} distinct characters across "
                         "its fields cannot be traced; split the conversation")

    def _json(self, field: int, value: Any) -> Any:
        """Arguments of a call: keys and string values are record text; numbers and structure stay."""
        if isinstance(value, str):
            return self._text(field, value)
        if isinstance(value, Mapping):
            return {self._text(field, str(key)): self._json(field, item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._json(field, item) for item in value]
        return value

    def _schema(self, field: int, value: Any, parent: str) -> Any:
        """A tool definition: names, descriptions, property names, enums and required names are record text; the
        schema's own keys and its ``type`` values (which templates test) stay."""
        if isinstance(value, str):
            return self._text(field, value)
        if isinstance(value, Mapping):
            return {(self._text(field, key) if parent == "properties" else key):
                    (item if key == "type" and parent != "properties" else self._schema(field, item, key))
                    for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._schema(field, item, parent) for item in value]
        return value

    def _message(self, number: int, message: Mapping[str, Any]) -> dict[str, Any]:
        role = message["role"]
        key = f"messages[{number}]"
        out: dict[str, Any] = {"role": role}
        content = self._field(number, role, _ROLE_KINDS.get(role, PartKind.PROMPT), f"{key}.content", "")
        out["content"] = self._text(content, message.get("content") or "")
        if message.get("reasoning_content") is not None:
            field = self._field(number, role, PartKind.REASONING, f"{key}.reasoning_content", "")
            out["reasoning_content"] = self._text(field, message["reasoning_content"])
        if message.get("tool_calls"):
            out["tool_calls"] = [self._call(number, f"{key}.tool_calls[{index}]", call)
                                 for index, call in enumerate(message["tool_calls"])]
        if role == "tool" and (message.get("tool_call_id") is not None or message.get("name") is not None):
            field = self._field(number, role, PartKind.TOOL_RESULT, f"{key}.tool_call_id", "", required=False)
            for name in ("tool_call_id", "name"):
                if message.get(name) is not None:
                    out[name] = self._text(field, message[name])
        return out

    def _call(self, number: int, key: str, call: Mapping[str, Any]) -> dict[str, Any]:
        """One call: its name and arguments (one field, which the template must write) and its id (another)."""
        calls = self._field(number, "assistant", PartKind.TOOL_CALL, key, "")
        function = call["function"]
        arguments = function["arguments"]
        shadowed = {"name": self._text(calls, function["name"]),
                    "arguments": self._text(calls, arguments) if isinstance(arguments, str)
                    else self._json(calls, arguments)}
        out: dict[str, Any] = {"type": call.get("type", "function"), "function": shadowed}
        if call.get("id") is None:
            return out
        ids = self._field(number, "assistant", PartKind.TOOL_CALL, f"{key}.id", "", required=False)
        return {"id": self._text(ids, call["id"]), **out}
