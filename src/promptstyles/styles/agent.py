"""Shared pieces of styles that render tools, tool calls, tool results and reasoning.

Templates of agent models differ too much for one table of strings (Qwen writes the tool list in the system
turn, Mistral before the last user turn, Llama in the first user turn), so each such style writes its parts
itself, mirroring its template, with a :class:`PartWriter`: markup and record text kept apart as in every
style, so a ``<tool_call>`` inside record text stays text and masks follow the part kinds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import StyleError
from ..records import Conversation, InstructionRecord, Message, Record
from ._base import Part, PartKind

if TYPE_CHECKING:
    from .chat import ChatStyle

__all__ = ["PartWriter", "as_conversation", "split_system"]


class PartWriter:
    """Parts of one record in order: the style's markup (shared part objects) and record text."""

    __slots__ = ("_style", "parts")

    def __init__(self, style: ChatStyle) -> None:
        self._style = style
        self.parts: list[Part] = []

    def markup(self, text: str, kind: PartKind) -> PartWriter:
        if text:
            self.parts.append(self._style._markup(text, kind))
        return self

    def text(self, text: str, kind: PartKind) -> PartWriter:
        """Record text (never markup, whatever it holds)."""
        if text:
            self.parts.append(Part(text, kind))
        return self

    def done(self) -> list[Part]:
        """The parts, neighbouring markup of one kind joined (as every chat style's parts are)."""
        tidy: list[Part] = []
        for part in self.parts:
            if tidy and part.markup and tidy[-1].markup and tidy[-1].kind is part.kind:
                tidy[-1] = Part(tidy[-1].text + part.text, part.kind, markup=True)
            else:
                tidy.append(part)
        return tidy


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
