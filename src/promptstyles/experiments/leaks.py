"""Markup leaks: a generated response that carries the style's own markup or opens another turn.

A style that taught the model its format well ends a response with its end marker and writes nothing of
the template inside it. What counts as the template is read from the style's declarations alone, so every
style is judged by the same rule and none needs a branch here:

- its ``special_tokens`` and its ``stop_sequences``;
- every line of the markup parts it renders (``Part.markup``: role headers, turn openers and closers,
  section headings), found by rendering probe records: an instruction with an input and, for styles
  that render conversations, a system prompt and two exchanges. Record text never counts as markup.

Each marker is stripped of surrounding whitespace; markers shorter than ``MIN_MARKER`` characters (a
lone colon or bracket) are left out, since ordinary prose holds them.

Generation ends at the end-of-text id or at the first stop sequence. A stop sequence found in the
markup that closes an assistant turn (``PartKind.END``), or in no markup at all, is an end marker: the
model stopped. One found only in markup that opens a turn (a user or system header, a response header)
means the model began a second turn: that is a leak, not a stop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from ..errors import PromptStylesError
from ..records import Conversation, InstructionRecord, Message, Record
from ..styles import PartKind, Style

__all__ = ["MIN_MARKER", "MarkupCheck", "find_leak", "markup_markers"]

MIN_MARKER = 2

_PROBES: tuple[Record, ...] = (
    InstructionRecord("instruction", "input", "output"),
    Conversation((Message("system", "system"), Message("user", "user"), Message("assistant", "assistant"),
                  Message("user", "user"), Message("assistant", "assistant"))),
    Conversation((Message("user", "user"), Message("assistant", "assistant"), Message("user", "user"),
                  Message("assistant", "assistant"))),
    Conversation((Message("system", "system"), Message("user", "user"), Message("assistant", "assistant"))),
)


def _markup_parts(style: Style) -> Iterable[tuple[str, PartKind]]:
    probes = _PROBES if style.supports_conversations else _PROBES[:1]
    for record in probes:
        try:
            parts = style.parts(record)
        except PromptStylesError:  # a format without system turns or several exchanges: the other probes cover it
            continue
        yield from ((part.text, part.kind) for part in parts if part.markup)


def markup_markers(style: Style) -> tuple[str, ...]:
    """The strings whose presence in a response means markup leaked, longest first (no duplicates)."""
    found = {*style.special_tokens, *style.stop_sequences}
    found.update(line for text, _ in _markup_parts(style) for line in text.splitlines())
    markers = {marker.strip() for marker in found}
    return tuple(sorted((m for m in markers if len(m) >= MIN_MARKER), key=lambda m: (-len(m), m)))


def find_leak(response: str, markers: Sequence[str]) -> str | None:
    """The marker that occurs first in ``response`` (the longest at a tie), or None when none does."""
    hits = [(position, -len(marker), marker) for marker in markers if (position := response.find(marker)) >= 0]
    return min(hits)[2] if hits else None


@dataclass(frozen=True)
class MarkupCheck:
    """How a generated continuation ended, judged from one style's declared markup (see the module)."""

    markers: tuple[str, ...]
    turn_stops: tuple[str, ...]
    """The style's stop sequences that open a new turn rather than end the response."""
    stop_sequences: tuple[str, ...]

    @classmethod
    def of(cls, style: Style) -> MarkupCheck:
        parts = list(_markup_parts(style))
        closing = "".join(text for text, kind in parts if kind is PartKind.END)
        opening = "".join(text for text, kind in parts if kind is not PartKind.END)
        turns = tuple(stop for stop in style.stop_sequences
                      if stop.strip() and stop.strip() not in closing and stop.strip() in opening)
        return cls(markup_markers(style), turns, tuple(style.stop_sequences))

    def _stop_found(self, text: str) -> str | None:
        """The stop sequence that ended ``text``: the one found first, as ``Style.extract_response`` cuts."""
        hits = [(position, stop) for stop in self.stop_sequences if (position := text.find(stop)) >= 0]
        return min(hits)[1] if hits else None

    def judge(self, text: str, stopped: Literal["eos", "stop", "length"]) -> tuple[bool, str | None]:
        """``(ended, leak)`` of a continuation (``Generation.text`` and ``Generation.stopped``).

        ``ended``: it stopped at the end-of-text id or an end marker before ``max_new_tokens``. ``leak``:
        the first marker inside the response (the text before the stop), else the stop sequence that
        opened a new turn, else None.
        """
        stop = self._stop_found(text) if stopped == "stop" else None
        response = text if stop is None else text[: text.find(stop)]
        leak = find_leak(response, self.markers)
        turn = stop is not None and stop in self.turn_stops
        if leak is None and turn:
            leak = str(stop).strip()
        return stopped == "eos" or (stopped == "stop" and not turn), leak
