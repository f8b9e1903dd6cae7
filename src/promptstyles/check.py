"""A style against a model's own chat template: the same conversations rendered both ways, text and ids.

``check`` renders a fixed battery of conversations (with tool calls and reasoning for a style that renders them,
and any records given, whole) through the style and through
the model folder's ``chat_template`` (transformers' sandboxed jinja rendering, see ``styles._jinja``), and
compares the texts and, with the model's tokenizer, the ids: the style's ids as the engine encodes its
parts, the template's as the model reads the template's text (every special token in it matched). Where
a style documents that it follows the publisher's reference rather than the template, it names the battery
cases in ``Style.known_deviations`` and a difference there is reported as known, not as a failure.

Two things are reported beside: examples whose parts, encoded one by one, give other ids than the whole
text (a merge across a seam, which the engine must handle), and assistant end markers that the chosen
mask does not train (a model that never learns to stop).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from .chat_messages import as_chat_messages
from .data.build.encoding import encode_generation_prompt, encode_parts
from .data.masks import KIND_CODES, compute_spans
from .data.modes import MASK_MODES
from .data.tokenizers.protocol import Tokenizer
from .errors import PromptStylesError, StyleError
from .records import Conversation, InstructionRecord, Message, Record, to_record
from .styles._base import Part, PartKind, Style
from .styles._jinja import TemplateRaised, compile_template, load_template

__all__ = ["AGENT_BATTERY", "BATTERY", "CaseResult", "CheckResult", "IdDifference", "TextDifference", "as_messages",
           "check_style"]

logger = logging.getLogger(__name__)

Messages = tuple[tuple[str, str], ...]
Status = Literal["agree", "differ", "known deviation"]

_SYSTEM = ("system", "Answer briefly.")
_QUESTION = ("user", "Name a primary colour.")
_ANSWER = ("assistant", "Red.")

BATTERY: Mapping[str, tuple[Messages, bool]] = MappingProxyType({
    "single turn": ((_QUESTION, _ANSWER), False),
    "system prompt": ((_SYSTEM, _QUESTION, _ANSWER), False),
    "multi-turn": ((("user", "Hi there!"), ("assistant", "Hello. How can I help?"), _QUESTION, _ANSWER), False),
    "generation prompt": ((_SYSTEM, _QUESTION), True),
    "unicode": ((("user", "Translate 'Gespräch' into 日本語 ✓"), ("assistant", "会話: ünïcödé 🙂")), False),
    "leading spaces": ((("user", "  two leading spaces\n\n"), ("assistant", " one leading space ")), False),
    "empty input": ((("user", ""), ("assistant", "Nothing to answer.")), False),
})
"""Battery case name -> (messages as (role, content), whether it is the generation prompt of those messages)."""

_CALL = {"id": "call00001", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
_TOOL_TURNS = [{"role": "user", "content": "What is the weather in Paris?"},
               {"role": "assistant", "content": "", "tool_calls": [_CALL]},
               {"role": "tool", "content": "Sunny, 18 degrees.", "tool_call_id": "call00001", "name": "get_weather"}]
_TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "The weather in a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
AGENT_BATTERY: Mapping[str, tuple[Mapping[str, Any], bool, str]] = MappingProxyType({
    "tool call": ({"messages": [*_TOOL_TURNS, {"role": "assistant", "content": "It is sunny."}], "tools": _TOOLS},
                  False, "tools"),
    "tool result, generation prompt": ({"messages": _TOOL_TURNS, "tools": _TOOLS}, True, "tools"),
    "reasoning": ({"messages": [{"role": "user", "content": "Is 7 prime?"}, {"role": "assistant", "content": "Yes.",
                                "reasoning_content": "7 has no divisor but 1 and 7."}]}, False, "reasoning"),
})
"""Cases for a style that ``renders`` tools or reasoning: case name -> (record, generation prompt, feature)."""

_CONTEXT_CHARS = 24
_CONTEXT_IDS = 3


@dataclass(frozen=True)
class TextDifference:
    """Where two texts first differ, and the text around that character on each side."""

    position: int
    style: str
    template: str
    before: str
    """Text both share just before the difference."""


@dataclass(frozen=True)
class IdDifference:
    """Where two id sequences first differ, and the ids around that position with each token's text."""

    position: int
    style: tuple[tuple[int, str], ...]
    template: tuple[tuple[int, str], ...]
    start: int
    """The index of the first id shown."""


@dataclass(frozen=True)
class CaseResult:
    """One conversation rendered both ways: whether they agree, and where they first differ."""

    name: str
    status: Status
    reason: str = ""
    """Why a known deviation deviates, or the error a side raised instead of rendering."""
    text: TextDifference | None = None
    ids: IdDifference | None = None
    seam: int | None = None
    """The first id at which the parts encoded one by one differ from the whole text's ids."""
    untrained_ends: tuple[int, ...] = ()
    """The assistant turns (1-based) whose end marker the mask does not train."""


@dataclass(frozen=True)
class CheckResult:
    """Every case of a check, and the counts the summary line gives."""

    style: str
    template: str
    tokenizer: str | None
    mask: str
    cases: tuple[CaseResult, ...]

    def count(self, status: Status) -> int:
        return sum(case.status == status for case in self.cases)

    @property
    def ok(self) -> bool:
        """Whether every case agrees or deviates as the style documents."""
        return self.count("differ") == 0


def as_messages(record: Record) -> Messages:
    """A record as chat messages: an instruction record is a user message (instruction, and the input after a
    newline when there is one) answered by its output."""
    if isinstance(record, InstructionRecord):
        user = record.instruction + ("\n" + record.input if record.input else "")
        return (("user", user), ("assistant", record.output))
    return tuple((message.role, message.content) for message in record.messages)


def _conversation(messages: Messages) -> Conversation:
    return Conversation(tuple(Message(role, content) for role, content in messages))


def _agent_conversation(raw: Mapping[str, Any]) -> Conversation:
    record = to_record(raw)
    assert isinstance(record, Conversation)
    return record


def _first_difference(a: Sequence[object], b: Sequence[object]) -> int | None:
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return None if len(a) == len(b) else min(len(a), len(b))


def _text_difference(style: str, template: str) -> TextDifference | None:
    position = _first_difference(style, template)
    if position is None:
        return None
    end = position + _CONTEXT_CHARS
    return TextDifference(position, style[position:end], template[position:end],
                          style[max(0, position - _CONTEXT_CHARS) : position])


def _id_difference(style: list[int], template: list[int], tokenizer: Tokenizer) -> IdDifference | None:
    position = _first_difference(style, template)
    if position is None:
        return None
    start = max(0, position - _CONTEXT_IDS)

    def window(ids: list[int]) -> tuple[tuple[int, str], ...]:
        shown = ids[start : position + _CONTEXT_IDS + 1]
        return tuple(zip(shown, tokenizer.decode_tokens(shown), strict=True))

    return IdDifference(position, window(style), window(template), start)


def _untrained_ends(parts: Sequence[Part], mask: str) -> tuple[int, ...]:
    """Assistant turns whose end-marker parts the mask leaves untrained, from the part kinds alone."""
    parts = [part for part in parts if part.text]
    kinds = np.fromiter((KIND_CODES[part.kind] for part in parts), dtype=np.uint8, count=len(parts))
    ends = np.arange(1, len(parts) + 1, dtype=np.int64)
    spans = compute_spans(ends, kinds, np.array([0, len(parts)]), np.array([len(parts)]), mask)
    trained = np.zeros(len(parts), dtype=bool)
    for start, end in zip(spans.starts, spans.ends, strict=True):
        trained[start:end] = True
    turns: list[int] = []
    turn = 0
    for index, part in enumerate(parts):
        turn += part.kind is PartKind.RESPONSE_HEADER
        if part.kind is PartKind.END and not trained[index] and turn not in turns:
            turns.append(turn)
    return tuple(turns)


def _render(render: Callable[[], str]) -> tuple[str | None, str]:
    """The text, or None and why it could not be rendered."""
    try:
        return render(), ""
    except (TemplateRaised, StyleError) as error:
        return None, str(error)


def _check_case(
    name: str, record: Conversation, generation: bool, style: Style, template: Callable[..., str],
    tokenizer: Tokenizer | None, mask: str,
) -> CaseResult:
    messages, tools = as_chat_messages(record)
    try:
        parts = style.parts(record, generation=generation)
    except StyleError as error:
        parts, refused = [], str(error)
    else:
        refused = ""
    ours = None if refused else "".join(part.text for part in parts)
    theirs, raised = _render(lambda: template(messages, generation, tools))
    if ours is None or theirs is None:
        agree = ours is None and theirs is None
        why = "; ".join(filter(None, (refused and f"style: {refused}", raised and f"template: {raised}")))
        return CaseResult(name, "agree" if agree else "differ", why)
    text = _text_difference(ours, theirs)
    ids = seam = None
    if tokenizer is not None:
        style_ids = (encode_generation_prompt(style, record, tokenizer, special_tokens="extend") if generation
                     else encode_parts(parts, tokenizer, special_tokens="extend"))
        template_ids = encode_parts([Part(theirs, PartKind.SYSTEM, markup=True)], tokenizer, special_tokens="extend")
        ids = _id_difference(style_ids, template_ids, tokenizer)
        alone = tokenizer.encode_examples([[part] for part in parts if part.text], markup_specials=True).ids
        piecewise = [token for piece in alone for token in piece]
        seam = _first_difference(piecewise, style_ids)
    untrained = () if generation else _untrained_ends(parts, mask)
    status: Status = "agree"
    reason = ""
    if text is not None or ids is not None:
        reason = type(style).known_deviations.get(name, "")
        status = "known deviation" if reason else "differ"
    elif name in type(style).known_deviations:
        logger.warning("style %r declares a known deviation in %r, but it agrees with the template", style.name, name)
    return CaseResult(name, status, reason, text, ids, seam, untrained)


def check_style(
    style: Style, template: str | Path, *, tokenizer: Tokenizer | None = None, records: Sequence[Record] = (),
    mask: str = "assistant",
) -> CheckResult:
    """Compare ``style`` with the chat template of ``template`` (a model folder, a ``tokenizer_config.json``
    or a ``.jinja`` file) on the battery and on ``records`` (named ``record N``), as text and, given the
    model's ``tokenizer``, as ids."""
    if mask not in MASK_MODES:
        raise PromptStylesError(f"unknown mask {mask!r}; expected one of {', '.join(MASK_MODES)}")
    names = [*BATTERY, *AGENT_BATTERY]
    unknown = sorted(set(type(style).known_deviations) - set(names))
    if unknown:
        raise StyleError(f"style {style.name!r} declares known deviations in {', '.join(map(repr, unknown))}, which "
                         f"are no battery cases; use the case names: {', '.join(names)}")
    source = load_template(template)
    render = compile_template(source)
    cases = [_check_case(name, _conversation(messages), generation, style, render, tokenizer, mask)
             for name, (messages, generation) in BATTERY.items()]
    cases += [_check_case(name, _agent_conversation(raw), generation, style, render, tokenizer, mask)
              for name, (raw, generation, feature) in AGENT_BATTERY.items() if feature in style.renders]
    cases += [_check_case(f"record {index}", record if isinstance(record, Conversation) else
                          _conversation(as_messages(record)), False, style, render, tokenizer, mask)
              for index, record in enumerate(records)]
    return CheckResult(style.name, source.origin, tokenizer.name if tokenizer is not None else None, mask,
                       tuple(cases))
