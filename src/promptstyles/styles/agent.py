"""Shared pieces of styles that render tools, tool calls, tool results and reasoning.

Templates of agent models differ too much for one table of strings (Qwen writes the tool list in the system
turn, Mistral before the last user turn, Llama in the first user turn), so each such style writes its parts
itself, mirroring its template, with a :class:`PartWriter`: markup and record text kept apart as in every
style, so a ``<tool_call>`` inside record text stays text and masks follow the part kinds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from ..errors import StyleError
from ..records import Conversation, InstructionRecord, Message, Record
from ._base import Part, PartKind, Style

__all__ = ["AgentStyle", "PartWriter", "SharedParts", "as_conversation", "split_system", "tidy"]

_SHARED_PARTS = 256


class SharedParts:
    """What chat-like styles share: markup parts shared by every record that has them (parts are immutable, and
    fewer live objects keep the garbage collector's full passes rare while a large dataset is rendered), stop
    sequences from ``stops``, and the ``system`` option in the resolved options."""

    stops: ClassVar[tuple[str, ...]] = ()
    system: str | None

    def __init__(self) -> None:
        self._shared_parts: dict[tuple[str, PartKind, bool], Part] = {}

    @property
    def stop_sequences(self) -> tuple[str, ...]:
        return self.stops

    @property
    def resolved_options(self) -> dict[str, Any]:
        """As for any style, with the system prompt as used (the default resolved, ``""`` as none)."""
        return {**super().resolved_options, "system": self.system}  # type: ignore[misc]

    def _markup(self, text: str, kind: PartKind, markup: bool = True) -> Part:
        part = self._shared_parts.get((text, kind, markup))
        if part is None:
            part = Part(text, kind, markup)
            if len(self._shared_parts) < _SHARED_PARTS:
                self._shared_parts[text, kind, markup] = part
        return part


def tidy(parts: Iterable[Part]) -> list[Part]:
    """Drop empty parts and join neighbouring markup of the same kind (record text is never joined)."""
    tidied: list[Part] = []
    for part in parts:
        if not part.text:
            continue
        if tidied and part.markup and tidied[-1].markup and tidied[-1].kind is part.kind:
            tidied[-1] = Part(tidied[-1].text + part.text, part.kind, markup=True)
        else:
            tidied.append(part)
    return tidied


class PartWriter:
    """Parts of one record in order: the style's markup (shared part objects) and record text."""

    __slots__ = ("_shared", "parts")

    def __init__(self, style: SharedParts) -> None:
        self._shared = style
        self.parts: list[Part] = []

    def markup(self, text: str, kind: PartKind) -> PartWriter:
        if text:
            self.parts.append(self._shared._markup(text, kind))
        return self

    def text(self, text: str, kind: PartKind) -> PartWriter:
        """Record text (never markup, whatever it holds)."""
        if text:
            self.parts.append(Part(text, kind))
        return self

    def done(self) -> list[Part]:
        """The parts, neighbouring markup of one kind joined (as every chat style's parts are)."""
        return tidy(self.parts)


class AgentStyle(SharedParts, Style):
    """Base of styles whose every render is their own (Qwen3's final turn differs from earlier ones, gpt-oss
    writes channels), so no :class:`ChatStyle` declaration can express them. Options: ``system`` (the system
    prompt when a record brings none) and ``joiner`` (between an instruction record's instruction and input)."""

    supports_conversations = True

    def __init__(self, *, system: str | None = None, joiner: str = "\n") -> None:
        SharedParts.__init__(self)
        for option, value in (("system", system), ("joiner", joiner)):
            if not isinstance(value, str) and not (option == "system" and value is None):
                raise StyleError(f"style {self.name!r}: option {option!r} must be a string, got {value!r}")
        self.system = system or None
        self.joiner = joiner


def as_conversation(record: Record, joiner: str) -> Conversation:
    """An instruction record as the one-exchange conversation chat styles make of it."""
    if isinstance(record, Conversation):
        return record
    if isinstance(record, InstructionRecord):
        user = record.instruction + (joiner + record.input if record.input else "")
        messages = [Message("user", user)] + ([Message("assistant", record.output)] if record.output else [])
        return Conversation(tuple(messages))
    raise StyleError(f"expected an instruction record or a conversation, not {type(record).__name__}")


def split_system(record: Conversation) -> tuple[str | None, Sequence[Message]]:
    """(the leading system message's text or None, the other messages); a later system message is refused."""
    messages = record.messages
    system = messages[0].content if messages and messages[0].role == "system" else None
    rest = messages[1:] if system is not None else messages
    for number, message in enumerate(rest, 2 if system is not None else 1):
        if message.role == "system":
            raise StyleError(f"turn {number} (system): a system message may only come first")
    if not rest:
        raise StyleError("expected a message after the system message")
    return system, rest
