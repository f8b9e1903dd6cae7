"""Parts of a tool or reasoning conversation, traced through a model's own chat template.

Templates of agent models write tools, calls, results and reasoning in ways no table of strings captures (Qwen
puts the tool list in the system turn, Mistral before the last user turn, Llama in the first user turn), so the
``chat-template`` style renders such a conversation with the template itself, twice: as given, and as its
:class:`~._shadow.Shadow`. Mapped back, the shadow must equal the real render; then every character of the render
is known to be a given field's text or the template's markup, with no searching for marker strings (a
``<tool_call>`` inside a message is text because its shadow is). Markup between fields goes to the turns around
it by the markup the plain probes found: an assistant turn opens with the response header and closes with the
response end; markup inside a turn belongs to what follows it, except the closer of reasoning (``</think>``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import StyleError
from ._base import Part, PartKind
from ._jinja import TemplateRaised
from ._shadow import Field, Shadow, plain
from ._template_markup import _ATOM, TemplateMarkup

__all__ = ["Dropped", "TemplateTrace"]

Render = Callable[..., str]
HEADER, END = PartKind.RESPONSE_HEADER, PartKind.END
Run = tuple[int, int, int]
"""``(field number or -1 for markup, start, end)`` in the rendered text."""


class Dropped(StyleError):
    """The template leaves a field of the record out of its text."""


class TemplateTrace:
    """Renders conversations with tools or reasoning through a template and labels every character."""

    def __init__(self, render: Render, markup: TemplateMarkup, atoms: Sequence[str], origin: str) -> None:
        self.render, self.markup, self.origin = render, markup, origin
        self.atoms = tuple(atom for atom in atoms if atom)
        self.strips: dict[PartKind, tuple[str | None, str | None]] = {
            {"system": PartKind.SYSTEM, "user": PartKind.PROMPT, "assistant": PartKind.RESPONSE}[role]:
            (None if left else "", None if right else "") for role, left, right in markup.trims}
        """The characters the template strips from the left and right end of a kind of text (``""`` none, None
        all whitespace), as ``str.lstrip`` and ``str.rstrip`` take them."""
        self.answer_strips: tuple[str | None, str | None] | None = None
        """What the template strips from an answer that follows reasoning (Qwen3: its leading newlines)."""
        self.reasoning_closer = ""
        """The markup closing reasoning before an answer (``"\\n</think>\\n\\n"``), found by a probe."""
        self.result_header = ""
        """The markup opening an answer after tool results, where it is not the response header."""
        self.markup_tokens: tuple[str, ...] = ()
        """The added tokens the template writes around tools and reasoning, found by the probes."""

    def parts(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, *,
              generation: bool) -> list[Part]:
        """The parts of the template's render of ``messages`` (with the generation prompt if ``generation``)."""
        text, shadow, runs = self.trace(messages, tools, generation=generation)
        self._check_written(shadow, runs, messages, generation)
        out: list[Part] = []
        for position, (field, start, end) in enumerate(runs):
            if field >= 0:
                out.append(Part(text[start:end], shadow.fields[field].kind))
                continue
            before = _neighbour(runs, position, -1, shadow)
            after = _neighbour(runs, position, 1, shadow)
            out += [Part(piece, kind, markup=True)
                    for piece, kind in self._gap(text[start:end], before, after, generation) if piece]
        return out

    def trace(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, *,
              generation: bool) -> tuple[str, Shadow, list[Run]]:
        """The real render, the shadow, and the render cut into runs of one field's text or of markup."""
        shadow = Shadow(messages, tools)
        text = self._render(messages, tools, generation)
        ghost = self._render(shadow.messages, shadow.tools, generation)
        labels, points = shadow.decode(ghost)
        if not np.array_equal(points, np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)):
            back = points.astype("<u4").tobytes().decode("utf-32-le")
            pairs = enumerate(zip(back, text, strict=False))
            at = next((i for i, (x, y) in pairs if x != y), min(len(back), len(text)))
            raise StyleError(
                f"style 'chat-template': {self.origin} writes this conversation's text differently depending on "
                f"what it says (at character {at} it writes {text[max(0, at - 20): at + 20]!r}, but with other "
                f"text {back[max(0, at - 20): at + 20]!r}), so its parts cannot be traced; write a style plugin")
        return text, shadow, self._runs(text, shadow, labels)

    def _render(self, messages: Sequence[Mapping[str, Any]], tools: Any, generation: bool) -> str:
        try:
            return self.render(messages, generation, tools)
        except TemplateRaised as error:
            raise StyleError(f"style 'chat-template': {self.origin} refuses this conversation: {error}") from error

    # -- runs ---------------------------------------------------------------------------------------

    def _runs(self, text: str, shadow: Shadow, labels: np.ndarray) -> list[Run]:
        reasoned = {field.message for field in shadow.fields if field.kind is PartKind.REASONING and field.text}
        spans: dict[int, tuple[int, int]] = {}
        for label, start, end in _split(labels):
            spans[label] = (spans[label][0] if label in spans else start, end)
        for number, field in enumerate(shadow.fields):
            if number in spans:
                self._extend(text, labels, spans[number], number, field, field.message in reasoned)
        runs = _split(labels)
        merged: list[Run] = []
        for position, run in enumerate(runs):  # plain markup between two runs of one field: the field's text
            if (run[0] < 0 and merged and position + 1 < len(runs) and runs[position + 1][0] == merged[-1][0]
                    and all(plain(char) for char in text[run[1]:run[2]])):
                run = (merged[-1][0], run[1], run[2])
            if merged and merged[-1][0] == run[0]:
                merged[-1] = (run[0], merged[-1][1], run[2])
            else:
                merged.append(run)
        self._check_order(merged, shadow)
        return merged

    def _extend(self, text: str, labels: np.ndarray, span: tuple[int, int], number: int, field: Field,
                reasoned: bool) -> None:
        """Give a text field its leading and trailing whitespace where the template keeps it (does not trim)."""
        if not field.key.endswith("content"):
            return
        after_reasoning = self.answer_strips if reasoned and field.kind is PartKind.RESPONSE else None
        left, right = after_reasoning or self.strips.get(field.kind, ("", ""))
        kept = field.text.lstrip(left).rstrip(right)  # the ends the template writes
        lead, tail = _plain_run(kept), _plain_run(kept[::-1])
        start, end = span
        if lead and text[max(0, start - lead):start] == kept[:lead] and (labels[start - lead:start] < 0).all():
            labels[start - lead:start] = number
        if tail and text[end:end + tail] == kept[len(kept) - tail:] and (labels[end:end + tail] < 0).all():
            labels[end:end + tail] = number

    def _check_order(self, runs: list[Run], shadow: Shadow) -> None:
        latest = -1
        for field, _, _ in runs:
            message = shadow.fields[field].message if field >= 0 else -1
            if message < 0:
                continue
            if message < latest:
                raise StyleError(f"style 'chat-template': {self.origin} writes {shadow.fields[field].key} after a "
                                 "later message, so its turns cannot be told apart; write a style plugin")
            latest = message

    def _check_written(self, shadow: Shadow, runs: list[Run], messages: list[dict[str, Any]],
                       generation: bool) -> None:
        """Every field the record gives is in the render: nothing is dropped silently (only the reasoning of an
        earlier assistant turn, which templates such as Qwen3's leave out by design)."""
        seen = {field for field, _, _ in runs if field >= 0}
        answers = [number for number, message in enumerate(messages) if message["role"] == "assistant"]
        for number, field in enumerate(shadow.fields):
            if number in seen or not field.required or all(plain(char) for char in field.text):
                continue
            if field.kind is PartKind.REASONING and (generation or field.message != answers[-1]):
                continue
            raise Dropped(f"key {field.key!r}: {self.origin} leaves it out of the rendered text, so the style "
                             "'chat-template' cannot train on it; drop it from the record or use a style that "
                             "renders it")

    # -- markup between fields ----------------------------------------------------------------------

    def _gap(self, gap: str, before: Field | None, after: Field | None,
             generation: bool) -> list[tuple[str, PartKind]]:
        """The markup ``gap`` between two fields, cut into the turns it belongs to."""
        pieces: list[tuple[str, PartKind]] = []
        new_turn = before is None or after is None or before.message != after.message
        if before is not None and before.role == "assistant" and new_turn:
            closes = self._end(gap)
            if closes is None and (after is not None or not generation):
                end = self.markup.response_end or "a special token"
                raise StyleError(f"style 'chat-template': {self.origin} does not close the assistant turn "
                                 f"{before.key.split('.')[0]} with {end!r}; write a style plugin")
            if closes is not None:
                pieces += [(gap[:closes[0]], before.kind), (gap[closes[0]:closes[1]], END)]
                gap = gap[closes[1]:]
        last = pieces[-1][1] if pieces else before.kind if before is not None else PartKind.SYSTEM
        if (after is None and generation) or (after is not None and after.role == "assistant" and new_turn):
            opens = self._header(gap, after)
            pieces += [(gap[:opens[0]], last), (gap[opens[0]:opens[1]], HEADER)]
            rest, closer = gap[opens[1]:], self.reasoning_closer
            if after is not None and closer and closer in rest:  # a reasoning block the template writes empty
                cut = rest.index(closer) + len(closer)
                pieces += [(rest[:cut], PartKind.REASONING), (rest[cut:], after.kind)]
            else:
                pieces.append((rest, after.kind if after is not None else HEADER))
        elif after is None:
            pieces.append((gap, last))
        elif new_turn:
            suffix = {"user": self.markup.user_suffix, "system": self.markup.system_suffix}.get(
                before.role if before is not None and not pieces else "", "")
            if suffix and gap.startswith(suffix):
                pieces.append((suffix, last))
                gap = gap[len(suffix):]
            pieces.append((gap, after.kind))
        elif before is not None and before.kind is PartKind.REASONING and after.kind is not PartKind.REASONING:
            closer = self.reasoning_closer if gap.startswith(self.reasoning_closer) else ""
            pieces += [(closer, PartKind.REASONING), (gap[len(closer):], after.kind)]
        else:
            pieces.append((gap, after.kind))
        return pieces

    def _end(self, gap: str) -> tuple[int, int] | None:
        """Where the markup closing an answer is in ``gap``: the response end, or where no one string closes every
        answer (gpt-oss: ``<|end|>``, the last ``<|return|>``), the first special token."""
        end = self.markup.response_end
        if end:
            at = gap.find(end)
            return (at, at + len(end)) if at >= 0 else None
        return min(self.token_spans(gap), default=None)

    def _header(self, gap: str, after: Field | None) -> tuple[int, int]:
        """Where the header opening an assistant turn starts and ends in ``gap``: the response header, or after
        tool results the markup a probe found there (Mistral's ``[/TOOL_RESULTS]``), else the last special token."""
        for header in (self.markup.response_header, self.result_header):
            found = gap.rfind(header) if header else -1
            if found >= 0:
                return found, len(gap) if after is None else found + len(header)
        spans = self.token_spans(gap)
        if not spans:
            where = after.key.split(".")[0] if after is not None else "the generation prompt"
            raise StyleError(f"style 'chat-template': {self.origin} opens {where} with no markup the style can "
                             f"tell apart ({gap!r}); write a style plugin")
        start, stop = max(spans)
        return start, len(gap) if after is None else stop

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """``(start, end)`` of each special token (or token-like markup) in ``text``."""
        spans = [(m.start(), m.end()) for m in _ATOM.finditer(text)]
        spans += [(start, start + len(atom)) for atom in self.atoms
                  for start in range(len(text)) if text.startswith(atom, start)]
        return spans


def _neighbour(runs: list[Run], position: int, step: int, shadow: Shadow) -> Field | None:
    """The field of the nearest run before (``step=-1``) or after a markup run."""
    position += step
    while 0 <= position < len(runs):
        field = runs[position][0]
        if field >= 0:
            return shadow.fields[field]
        position += step
    return None


def _split(labels: np.ndarray) -> list[Run]:
    """``labels`` cut where the label changes: ``(label, start, end)`` runs."""
    if not len(labels):
        return []
    cuts = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [len(labels)]))
    return list(zip(labels[starts].tolist(), starts.tolist(), ends.tolist(), strict=True))


def _plain_run(text: str) -> int:
    """How many characters at the start of ``text`` are plain (whitespace and the like)."""
    count = 0
    while count < len(text) and plain(text[count]):
        count += 1
    return count
