"""Instruction records rendered by a chat style from a skeleton: its parts for a probe record, filled in.

Why: a dataset build renders every record, and a chat style's general path (turns, order checks, trims,
joins) costs more Python per record than reading it. For an instruction record, what that path writes
depends only on which of ``input`` and ``output`` are non-empty; the record's three texts land in three
parts, each trimmed or not. So the general path renders a probe record once per shape, whose texts are
private-use characters padded with a space on each side: the part each lands in, and whether its spaces
survived (no trim on that side), make the skeleton. A record is then its skeleton with its texts, trimmed
as the probe's were, in place of the probe's.

The general path stays the judge: a skeleton is only made for a style whose turns, order checks, trims and
text parts are :class:`~.chat.ChatStyle`'s own (a subclass overriding one may read the text), when each
probe text lands whole in one part of record text; a record whose trimmed text is empty (the general path
drops that part) is rendered by the general path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from ..records import InstructionRecord
from ._base import Part, Style

__all__ = ["Skeleton", "skeleton_of"]

_FIELDS = ("instruction", "input", "output")
_MARKS = ("\ue000", "\ue001", "\ue002")
_OWN_METHODS = ("turns", "check_order", "user_parts", "content", "text")
"""The methods of the general path that see record text: a subclass's own version may read it."""

_TRIMS: dict[tuple[bool, bool], Callable[[str], str]] = {
    (True, True): str.strip, (True, False): str.lstrip, (False, True): str.rstrip, (False, False): str,
}


class _Slot(NamedTuple):
    position: int
    field: str
    trim: Callable[[str], str]


class Skeleton(NamedTuple):
    """A chat style's parts for instruction records of one shape, with the slots their texts go in."""

    parts: tuple[Part, ...]
    slots: tuple[_Slot, ...]

    def fill(self, record: InstructionRecord) -> list[Part] | None:
        """The record's parts, or None where the general path must render it (a trimmed text is empty)."""
        parts = list(self.parts)
        for position, field, trim in self.slots:
            text = trim(getattr(record, field))
            if not text:
                return None
            parts[position] = Part(text, parts[position].kind)
        return parts


def skeleton_of(style: Style, base: type[Style], has_input: bool, has_output: bool,
                general: Callable[[InstructionRecord], list[Part]]) -> Skeleton | None:
    """The skeleton of instruction records with (or without) an input and an output, or None when the style's
    rendering of them cannot be told from a probe (see the module docstring). ``base`` is the chat style class
    whose methods see record text; ``general`` renders a record by the general path."""
    if any(getattr(type(style), name) is not getattr(base, name) for name in _OWN_METHODS):
        return None
    used = [True, has_input, has_output]
    probe = InstructionRecord(*(f" {mark} " if use else "" for mark, use in zip(_MARKS, used, strict=True)))
    try:
        parts = general(probe)
    except Exception:  # a style that refuses the probe renders every record by the general path
        return None
    slots: list[_Slot] = []
    for index, part in enumerate(parts):
        found = [position for position, mark in enumerate(_MARKS) if mark in part.text]
        if not found:
            continue
        if part.markup or len(found) > 1 or part.text.strip(" ") != _MARKS[found[0]]:
            return None
        slots.append(_Slot(index, _FIELDS[found[0]], _TRIMS[not part.text.startswith(" "),
                                                             not part.text.endswith(" ")]))
    if sorted(slot.field for slot in slots) != sorted(f for f, use in zip(_FIELDS, used, strict=True) if use):
        return None
    return Skeleton(tuple(parts), tuple(slots))
