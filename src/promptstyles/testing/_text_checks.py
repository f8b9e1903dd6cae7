"""Properties of a style's rendered text, checked per record without a tokenizer.

Each check takes a :class:`Rendering` and returns what failed, one sentence each (empty when it holds).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..records import Conversation, InstructionRecord, Record
from ..styles._base import Part, PartKind, Style

__all__ = ["TEXT_CHECKS", "Rendering", "assistant_turns", "brief", "special_token_failures"]

_SPECIAL_SHAPE = re.compile(r"<\|[^<>|\s]{1,64}\|>|<[^<>\s]{1,64}>|\[[^\[\]\s]{1,32}\]")
"""Strings that look like special tokens: ``<|eot_id|>``, ``<bos>``, ``</s>``, ``[INST]``."""
_PIPE_SHAPE = re.compile(r"<\|[^<>|\s]{1,64}\|>")


def brief(text: str, limit: int = 60) -> str:
    """``repr`` of ``text``, shortened in the middle so a failure line stays readable."""
    if len(text) > limit:
        text = f"{text[: limit // 2]}...{text[-limit // 2 :]}"
    return repr(text)


@dataclass(frozen=True)
class Rendering:
    """A record rendered by the style under test, with what the checks compare it against."""

    label: str
    record: Record
    parts: tuple[Part, ...]
    generation: str
    markers: tuple[str, ...]

    @property
    def text(self) -> str:
        return "".join(part.text for part in self.parts)

    @property
    def output(self) -> str:
        """The final answer as written in the record."""
        if isinstance(self.record, InstructionRecord):
            return self.record.output
        return self.record.messages[-1].content if self.record.messages[-1].role == "assistant" else ""

    @property
    def fields(self) -> tuple[str, ...]:
        if isinstance(self.record, InstructionRecord):
            return (self.record.instruction, self.record.input, self.record.output)
        assert isinstance(self.record, Conversation)
        return tuple(text for message in self.record.messages for text in (message.content, message.reasoning or ""))

    @property
    def has_markers(self) -> bool:
        """Whether record text holds the style's own markup, where extraction cannot be exact by design."""
        return any(marker in field for field in self.fields for marker in self.markers)


_ASSISTANT_OUTPUT = (PartKind.RESPONSE, PartKind.REASONING, PartKind.TOOL_CALL)


def assistant_turns(parts: Sequence[Part]) -> list[tuple[int, bool]]:
    """(character offset where each assistant turn's text ends, whether it is the final turn).

    A turn opens at a ``RESPONSE_HEADER`` part and its text is the reasoning, tool call and response parts that
    follow; whatever the style labels the markup after it, the turn's text ends there.
    """
    turns: list[int] = []
    position = 0
    inside = False
    for part in parts:
        if part.kind is PartKind.RESPONSE_HEADER:
            inside = True
            turns.append(position + len(part.text))
        elif inside and part.kind in _ASSISTANT_OUTPUT:
            turns[-1] = position + len(part.text)
        elif inside:
            inside = False
        position += len(part.text)
    return [(end, number == len(turns) - 1) for number, end in enumerate(turns)]


def check_concatenation(style: Style, rendering: Rendering) -> list[str]:
    failures = [f"part {n} is not a Part of str text and a PartKind: {brief(repr(part))}"
                for n, part in enumerate(rendering.parts)
                if not (isinstance(part, Part) and isinstance(part.text, str) and isinstance(part.kind, PartKind))]
    rendered = style.render(rendering.record)
    if rendered.text != rendering.text:
        failures.append(f"render().text {brief(rendered.text)} != the joined parts {brief(rendering.text)}")
    if rendered.prompt + rendered.response != rendered.text:
        failures.append("render().prompt + render().response != render().text")
    return failures


def check_generation_prefix(style: Style, rendering: Rendering) -> list[str]:
    if rendering.text.startswith(rendering.generation):
        return []
    common = next((n for n, (a, b) in enumerate(zip(rendering.generation, rendering.text, strict=False)) if a != b),
                  min(len(rendering.generation), len(rendering.text)))
    return [f"generation prompt is not a prefix of the text: they differ at character {common}: "
            f"{brief(rendering.generation[common:])} vs {brief(rendering.text[common:])}"]


def check_extract_response(style: Style, rendering: Rendering) -> list[str]:
    output = rendering.output
    if not output or output != output.strip() or rendering.has_markers:
        return []  # a style may strip surrounding whitespace; markers in the answer cut it by design
    extracted = style.extract_response(rendering.text, prompt=rendering.generation)
    return [] if extracted == output else [f"extract_response gave {brief(extracted)}, expected {brief(output)}"]


def stop_after(style: Style, text: str, end: int) -> tuple[int, int] | None:
    """The span of the stop sequence that ends generation after a response ending at ``end``, if any."""
    rest = text[end:]
    found = [(rest.find(stop), stop) for stop in style.stop_sequences]
    found = [(at, stop) for at, stop in found if at >= 0 and not rest[:at].strip()]
    if not found:
        return None
    at, stop = min(found, key=lambda item: (item[0], -len(item[1])))
    return end + at, end + at + len(stop)


def check_stops(style: Style, rendering: Rendering) -> list[str]:
    if rendering.has_markers:
        return []
    failures = []
    text = rendering.text
    for number, (end, final) in enumerate(assistant_turns(rendering.parts), 1):
        if stop_after(style, text, end) is None and not (final and not text[end:].strip()):
            failures.append(f"assistant turn {number}: no stop sequence ends it (stop_sequences "
                            f"{style.stop_sequences!r}); the text after it is {brief(text[end:])}")
    return failures


def check_record_text(style: Style, rendering: Rendering) -> list[str]:
    """Each record field lies whole inside one part the style did not write, as it is or as a JSON string (the
    form some templates give a tool result); the answer inside a response."""
    failures = []
    plain = [part for part in rendering.parts if not part.markup]
    for field in dict.fromkeys(rendering.fields):
        if not field.strip():
            continue
        forms = (field.strip(), json.dumps(field.strip(), ensure_ascii=False)[1:-1])
        holders = [part for part in plain if any(form in part.text for form in forms)]
        if not holders:
            failures.append(f"record text {brief(field)} is not whole inside one non-markup part")
        elif field == rendering.output and not any(part.kind is PartKind.RESPONSE for part in holders):
            failures.append(f"the answer {brief(field)} is not in a RESPONSE part")
    return failures


TEXT_CHECKS: dict[str, Callable[[Style, Rendering], list[str]]] = {
    "parts concatenate": check_concatenation,
    "generation prompt is a prefix": check_generation_prefix,
    "extract_response returns the output": check_extract_response,
    "stop sequences end each response": check_stops,
    "record text stays one part": check_record_text,
}


def special_token_failures(
    style: Style, renderings: Sequence[Rendering], others: Sequence[tuple[str, ...]],
    is_special: Callable[[str], bool],
) -> list[str]:
    """Declared special tokens that no markup uses, and markup that looks special but is undeclared.

    Markup is flagged when ``is_special`` (the tokenizer in use) says so, or when it is a ``<|...|>`` token
    declared by another style whose ``<|...|>`` tokens this style partly declares (a format family, such as
    ChatML, missing one of its tokens). Plain-text markers like TinyLlama's ``<|user|>`` stay unflagged.
    """
    declared = set(style.special_tokens)
    markup = "".join(part.text for rendering in renderings for part in rendering.parts if part.markup)
    failures = [f"declared special token {token!r} appears in no markup" for token in style.special_tokens
                if token not in markup]
    family = {token for tokens in others if declared & {t for t in tokens if _PIPE_SHAPE.fullmatch(t)}
              for token in tokens if _PIPE_SHAPE.fullmatch(token)}
    undeclared = {match for match in _SPECIAL_SHAPE.findall(markup) if match not in declared
                  and (match in family or is_special(match))}
    failures += [f"markup token {token!r} is special but not in special_tokens" for token in sorted(undeclared)]
    return failures
