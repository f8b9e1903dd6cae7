"""Record types: what a style renders, normalised from the shapes datasets come in.

Two shapes exist. An instruction record is the Alpaca triple ``{"instruction", "input", "output"}``
(``input`` may be empty or missing). A conversation is a list of role/content messages, read from the
OpenAI shape ``{"messages": [{"role", "content"}]}`` or the ShareGPT shape
``{"conversations": [{"from", "value"}]}``. Normalising once here means every style sees one of two
small frozen types, whatever the dataset looked like.

Agent and reasoning data come in the same shapes: record-level ``tools``, assistant ``tool_calls`` and
``reasoning_content`` (or ``reasoning``, ``thinking``), ``tool`` messages; ShareGPT ``function_call`` and
``observation`` turns (Glaive, LLaMA-Factory) become the same calls and results (see ``tool_records.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import RecordError
from .tool_records import ToolCall, parse_tool_calls, parse_tools

__all__ = [
    "ROLES",
    "Conversation",
    "InstructionRecord",
    "Message",
    "Record",
    "ToolCall",
    "to_record",
]

ROLES = ("system", "user", "assistant", "tool")
REASONING_KEYS = ("reasoning_content", "reasoning", "thinking")
"""Names datasets give an assistant's reasoning; all mean the same field."""

_SHAREGPT_ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "function_call": "function_call",
    "observation": "tool",
    "tool": "tool",
}


@dataclass(frozen=True, slots=True)
class InstructionRecord:
    """The Alpaca triple. ``input`` is ``""`` when the dataset leaves it empty, ``None`` or out."""

    instruction: str
    input: str = ""
    output: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """One turn of a conversation; ``role`` is one of ``system``, ``user``, ``assistant``, ``tool``.

    An assistant turn may carry ``reasoning`` and ``tool_calls`` (its ``content`` then may be ``""``); a ``tool``
    turn answers a call of the assistant turn before it (``tool_call_id`` and ``name`` as the dataset gave them).
    """

    role: str
    content: str
    reasoning: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Conversation:
    """An ordered list of messages; an optional system message comes first; ``tools`` the functions declared."""

    messages: tuple[Message, ...]
    tools: tuple[Mapping[str, Any], ...] = ()
    final_turn_only: bool = False
    """Only the final assistant turn is trained, earlier ones are context (an example of ``data.turns:
    per_assistant``, see ``turns.py``)."""

    @property
    def agentic(self) -> bool:
        """Whether the conversation holds tools, tool calls, tool results or reasoning."""
        return bool(self.tools) or any(
            m.tool_calls or m.reasoning is not None or m.role == "tool" for m in self.messages)


Record = InstructionRecord | Conversation


def _text(value: Any, *, index: int | None, key: str, source: str | None) -> str:
    if not isinstance(value, str):
        raise RecordError(
            f"expected a string, got {type(value).__name__} {value!r:.60}", index=index, key=key, source=source
        )
    return value


def _instruction_record(
    raw: Mapping[str, Any],
    fields: Mapping[str, str],
    *,
    index: int | None,
    source: str | None,
    require_output: bool,
) -> InstructionRecord:
    instruction_key = fields.get("instruction", "instruction")
    input_key = fields.get("input", "input")
    output_key = fields.get("output", "output")
    if instruction_key not in raw:
        raise RecordError("missing key", index=index, key=instruction_key, source=source)
    instruction = _text(raw[instruction_key], index=index, key=instruction_key, source=source)
    if not instruction.strip():
        raise RecordError("instruction is empty", index=index, key=instruction_key, source=source)
    input_value = raw.get(input_key)
    input_text = "" if input_value is None else _text(input_value, index=index, key=input_key, source=source)
    if output_key in raw and raw[output_key] is not None:
        output = _text(raw[output_key], index=index, key=output_key, source=source)
    elif require_output:
        raise RecordError("missing key", index=index, key=output_key, source=source)
    else:
        output = ""
    if require_output and not output.strip():
        raise RecordError("output is empty", index=index, key=output_key, source=source)
    return InstructionRecord(instruction, input_text, output)


def _reasoning(turn: Mapping[str, Any], key: str, index: int | None, source: str | None) -> str | None:
    given = [name for name in REASONING_KEYS if turn.get(name) is not None]
    values = {name: turn[name] for name in given}
    if len(set(map(repr, values.values()))) > 1:
        raise RecordError(f"{' and '.join(given)} differ; they name one field, give one of them",
                          index=index, key=f"{key}.{given[1]}", source=source)
    return _text(values[given[0]], index=index, key=f"{key}.{given[0]}", source=source) if given else None


def _message(turn: Mapping[str, Any], role: str, key: str, content_key: str, index: int | None,
             source: str | None) -> Message:
    """One checked message; a ShareGPT ``function_call`` turn becomes an assistant turn with its calls."""
    if role == "function_call":
        raw = turn[content_key]
        try:
            calls = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError as error:
            raise RecordError(f"a function_call is not JSON ({error.msg} at character {error.pos})",
                              index=index, key=f"{key}.{content_key}", source=source) from None
        calls = calls if isinstance(calls, list) else [calls]
        return Message("assistant", "", tool_calls=parse_tool_calls(calls, f"{key}.{content_key}", index=index,
                                                                    source=source))
    content = turn.get(content_key)
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning = None
    if role == "assistant":
        if turn.get("tool_calls") is not None:
            tool_calls = parse_tool_calls(turn["tool_calls"], f"{key}.tool_calls", index=index, source=source)
        reasoning = _reasoning(turn, key, index, source)
        if content is None and tool_calls:  # OpenAI sends null content with calls, or none at all
            return Message(role, "", reasoning, tool_calls)
    else:
        for extra in ("tool_calls", *REASONING_KEYS):
            if turn.get(extra) is not None:
                raise RecordError(f"only an assistant message may have {extra!r}, not a {role} message",
                                  index=index, key=f"{key}.{extra}", source=source)
    if content_key not in turn:
        raise RecordError("missing key", index=index, key=f"{key}.{content_key}", source=source)
    text = _text(content, index=index, key=f"{key}.{content_key}", source=source)
    if role != "tool":
        return Message(role, text, reasoning, tool_calls)
    ids = {name: turn.get(name) for name in ("tool_call_id", "name")}
    for name, value in ids.items():
        if value is not None and not isinstance(value, str):
            raise RecordError(f"expected a string, got {type(value).__name__}", index=index, key=f"{key}.{name}",
                              source=source)
    return Message(role, text, tool_call_id=ids["tool_call_id"], name=ids["name"])


def _check_results(messages: list[Message], list_key: str, index: int | None, source: str | None) -> None:
    """Every tool result answers a call of the assistant turn just before it (by id where both have one)."""
    calls: tuple[ToolCall, ...] = ()
    answered = 0
    for number, message in enumerate(messages):
        if message.role != "tool":
            calls, answered = (message.tool_calls, 0) if message.role == "assistant" else ((), 0)
            continue
        key = f"{list_key}[{number}]"
        if not calls:
            raise RecordError("a tool result with no preceding tool call; a tool message must follow an assistant "
                              "message with tool_calls (or another tool message)", index=index, key=key,
                              source=source)
        answered += 1
        if answered > len(calls):
            raise RecordError(f"{answered} tool results answer {len(calls)} tool call(s) of the assistant turn "
                              "before them", index=index, key=key, source=source)
        ids = {call.id for call in calls if call.id is not None}
        if message.tool_call_id is not None and ids and message.tool_call_id not in ids:
            raise RecordError(f"tool_call_id {message.tool_call_id!r} answers no call of the assistant turn before "
                              f"it (its ids: {', '.join(sorted(ids))})", index=index, key=f"{key}.tool_call_id",
                              source=source)


def _messages(
    turns: Any, *, list_key: str, role_key: str, content_key: str, roles: Mapping[str, str], index: int | None,
    source: str | None, tools: Any = None, tools_key: str = "tools",
) -> Conversation:
    if not isinstance(turns, list) or not turns:
        raise RecordError("expected a non-empty list of messages", index=index, key=list_key, source=source)
    messages = []
    for turn_index, turn in enumerate(turns):
        key = f"{list_key}[{turn_index}]"
        if not isinstance(turn, Mapping):
            raise RecordError(f"expected a mapping, got {type(turn).__name__}", index=index, key=key, source=source)
        if role_key not in turn:
            raise RecordError("missing key", index=index, key=f"{key}.{role_key}", source=source)
        role_value = turn[role_key]
        role = roles.get(role_value) if isinstance(role_value, str) else None
        if role is None:
            allowed = ", ".join(sorted(roles))
            raise RecordError(
                f"unknown role {role_value!r}; expected one of {allowed}", index=index, key=f"{key}.{role_key}",
                source=source,
            )
        messages.append(_message(turn, role, key, content_key, index, source))
    _check_results(messages, list_key, index, source)
    declared = () if tools is None else parse_tools(tools, tools_key, index=index, source=source)
    return Conversation(tuple(messages), declared)


_SHAPES = (("instruction", "input", "output"), ("messages",), ("conversations",))
"""Our keys of each kind of record: a record holds one kind."""


def _one_shape(raw: Mapping[str, Any], fields: Mapping[str, str], *, index: int | None, source: str | None) -> None:
    """A record with keys of two kinds (an instruction and ``messages``) says two things: which one is meant
    is the user's call, not ours, so it is an error naming both keys. Empty values say nothing."""
    found = [[fields.get(key, key) for key in shape if raw.get(fields.get(key, key)) not in (None, "")]
             for shape in _SHAPES]
    kinds = [keys for keys in found if keys]
    if len(kinds) > 1:
        first, second = (", ".join(repr(key) for key in keys) for keys in kinds[:2])
        raise RecordError(f"holds {first} and {second}, two kinds of record in one; keep one kind (or map the "
                          "one to read with data.fields)", index=index, source=source)


def to_record(
    raw: Any,
    *,
    index: int | None = None,
    fields: Mapping[str, str] | None = None,
    source: str | None = None,
    require_output: bool = True,
) -> Record:
    """Normalise one raw record (a dict from JSON) into an ``InstructionRecord`` or a ``Conversation``.

    ``fields`` maps our key names (``instruction``, ``input``, ``output``, ``messages``) to the dataset's,
    e.g. ``{"instruction": "prompt", "output": "completion"}``. Errors name the record index and key.
    Conversations are returned as written; whether their role order suits a style is the style's call.
    """
    if isinstance(raw, (InstructionRecord, Conversation)):
        return raw
    if not isinstance(raw, Mapping):
        raise RecordError(f"expected a JSON object, got {type(raw).__name__}", index=index, source=source)
    fields = fields or {}
    if not fields and "messages" not in raw and "conversations" not in raw:  # one kind of record: nothing to check
        return _instruction_record(raw, fields, index=index, source=source, require_output=require_output)
    _one_shape(raw, fields, index=index, source=source)
    messages_key = fields.get("messages", "messages")
    if messages_key in raw:
        return _messages(
            raw[messages_key], list_key=messages_key, role_key="role", content_key="content",
            roles={role: role for role in ROLES}, index=index, source=source, tools=raw.get("tools"),
        )
    conversations_key = fields.get("conversations", "conversations")
    if conversations_key in raw:
        return _messages(
            raw[conversations_key], list_key=conversations_key, role_key="from", content_key="value",
            roles=_SHAREGPT_ROLES, index=index, source=source, tools=raw.get("tools"),
        )
    return _instruction_record(raw, fields, index=index, source=source, require_output=require_output)
