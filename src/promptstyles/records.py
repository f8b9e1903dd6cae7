"""Record types: what a style renders, normalised from the shapes datasets come in.

Two shapes exist. An instruction record is the Alpaca triple ``{"instruction", "input", "output"}``
(``input`` may be empty or missing). A conversation is a list of role/content messages, read from the
OpenAI shape ``{"messages": [{"role", "content"}]}`` or the ShareGPT shape
``{"conversations": [{"from", "value"}]}``. Normalising once here means every style sees one of two
small frozen types, whatever the dataset looked like.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import RecordError

__all__ = [
    "ROLES",
    "Conversation",
    "InstructionRecord",
    "Message",
    "Record",
    "to_record",
]

ROLES = ("system", "user", "assistant")

_SHAREGPT_ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
}


@dataclass(frozen=True, slots=True)
class InstructionRecord:
    """The Alpaca triple. ``input`` is ``""`` when the dataset leaves it empty, ``None`` or out."""

    instruction: str
    input: str = ""
    output: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """One turn of a conversation; ``role`` is one of ``system``, ``user``, ``assistant``."""

    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Conversation:
    """An ordered list of messages; an optional system message comes first."""

    messages: tuple[Message, ...]


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


def _messages(
    turns: Any, *, list_key: str, role_key: str, content_key: str, roles: Mapping[str, str], index: int | None,
    source: str | None,
) -> Conversation:
    if not isinstance(turns, list) or not turns:
        raise RecordError("expected a non-empty list of messages", index=index, key=list_key, source=source)
    messages = []
    for turn_index, turn in enumerate(turns):
        key = f"{list_key}[{turn_index}]"
        if not isinstance(turn, Mapping):
            raise RecordError(f"expected a mapping, got {type(turn).__name__}", index=index, key=key, source=source)
        for needed in (role_key, content_key):
            if needed not in turn:
                raise RecordError("missing key", index=index, key=f"{key}.{needed}", source=source)
        role_value = turn[role_key]
        role = roles.get(role_value) if isinstance(role_value, str) else None
        if role is None:
            allowed = ", ".join(sorted(roles))
            raise RecordError(
                f"unknown role {role_value!r}; expected one of {allowed}", index=index, key=f"{key}.{role_key}",
                source=source,
            )
        content = _text(turn[content_key], index=index, key=f"{key}.{content_key}", source=source)
        messages.append(Message(role, content))
    return Conversation(tuple(messages))


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
    _one_shape(raw, fields, index=index, source=source)
    messages_key = fields.get("messages", "messages")
    if messages_key in raw:
        return _messages(
            raw[messages_key], list_key=messages_key, role_key="role", content_key="content",
            roles={role: role for role in ROLES}, index=index, source=source,
        )
    conversations_key = fields.get("conversations", "conversations")
    if conversations_key in raw:
        return _messages(
            raw[conversations_key], list_key=conversations_key, role_key="from", content_key="value",
            roles=_SHAREGPT_ROLES, index=index, source=source,
        )
    return _instruction_record(raw, fields, index=index, source=source, require_output=require_output)
