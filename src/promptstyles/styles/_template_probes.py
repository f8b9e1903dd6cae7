"""What a chat template renders beyond text turns, found by tracing probe conversations through it.

A template renders tools when a probe's tool definitions, call and result all land in its text as their own
parts, and reasoning when a probe's reasoning does; the same probes show whether it trims reasoning and tool
results, and which markup closes reasoning before an answer. A probe the template refuses or mangles means the
feature is not rendered (records that need it are then refused by name, as for any style).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from ..errors import StyleError
from ._base import PartKind
from ._jinja import TemplateRaised
from ._template_trace import Dropped, TemplateTrace

__all__ = ["probe_features"]

logger = logging.getLogger(__name__)

_CALL_ID = "call00001"  # nine characters, as Mistral's templates require
_TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}},
                   "required": ["city"]}}}]
_WHITESPACE = "\n \t"


def _tool_probe(result: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": "What is the weather in Oslo?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": _CALL_ID, "type": "function", "function": {"name": "get_weather",
                                                                  "arguments": {"city": "Oslo"}}}]},
            {"role": "tool", "content": result, "tool_call_id": _CALL_ID, "name": "get_weather"},
            {"role": "assistant", "content": "It is -3 degrees."}]


def _reasoning_probe(reasoning: str, answer: str = "It is 51.") -> list[dict[str, Any]]:
    return [{"role": "user", "content": "What is 17 * 3?"},
            {"role": "assistant", "reasoning_content": reasoning, "content": answer}]


def _stripped(trace: TemplateTrace, build: Any, tools: Any, word: str) -> tuple[str | None, str | None]:
    """Which whitespace characters the template strips from the left and right end of the probed field: one
    character written before or after ``word`` is kept exactly when the render grows (``None``: all whitespace,
    as ``trim`` and ``strip()`` do)."""
    size = len(trace.render(build(word), False, tools))
    ends = []
    for side in (0, 1):
        stripped = "".join(char for char in _WHITESPACE if len(trace.render(
            build(char + word if side == 0 else word + char), False, tools)) == size)
        ends.append(None if stripped == _WHITESPACE else stripped)
    return ends[0], ends[1]


def probe_features(trace: TemplateTrace) -> tuple[frozenset[str], dict[str, str]]:
    """``"tools"`` and ``"reasoning"`` where the template renders them, and why not for the others; sets
    ``trace``'s strips, reasoning closer and markup tokens from the probes."""
    found: set[str] = set()
    why_not: dict[str, str] = {}
    tokens: list[str] = []
    for feature, build, word, tools, kind, needs in (
            ("tools", _tool_probe, "-3 degrees", _TOOLS, PartKind.TOOL_RESULT,
             {PartKind.TOOLS, PartKind.TOOL_CALL, PartKind.TOOL_RESULT}),
            ("reasoning", _reasoning_probe, "Seventeen threes.", None, PartKind.REASONING, {PartKind.REASONING})):
        try:
            trace.strips[kind] = _stripped(trace, build, tools, word)
            messages = build(word)
            parts = trace.parts(messages, tools, generation=False)
            trace.parts(messages[:-1], tools, generation=True)
        except Dropped:
            trace.strips.pop(kind, None)
            why_not[feature] = f"{trace.origin} leaves {feature} out of a probe conversation"
            continue
        except (StyleError, TemplateRaised) as error:  # the template refuses or mangles it: not rendered
            trace.strips.pop(kind, None)
            why_not[feature] = f"a probe conversation with {feature} fails: {error}"
            logger.debug("chat template %s does not render %s: %s", trace.origin, feature, error)
            continue
        if not needs <= {part.kind for part in parts}:
            missing = ", ".join(sorted(kind.value for kind in needs - {part.kind for part in parts}))
            why_not[feature] = f"{trace.origin} writes no {missing} for a probe conversation with {feature}"
            logger.debug("chat template %s does not render %s: %s", trace.origin, feature, why_not[feature])
            continue
        found.add(feature)
        tokens += [atom for atom in trace.atoms if any(atom in part.text for part in parts if part.markup)]
        if feature == "reasoning":
            trace.reasoning_closer = _closer(trace, messages)
            trace.answer_strips = _stripped(trace, functools.partial(_reasoning_probe, word), None, "It is 51.")
        else:
            trace.result_header = _result_header(trace, messages[:-1], tools)
    trace.markup_tokens = tuple(dict.fromkeys(tokens))
    return frozenset(found), why_not


def _closer(trace: TemplateTrace, messages: list[dict[str, Any]]) -> str:
    """The markup between the probe's reasoning and its answer."""
    text, shadow, runs = trace.trace(messages, None, generation=False)
    kinds = [shadow.fields[field].kind if field >= 0 else None for field, _, _ in runs]
    for position in range(1, len(runs) - 1):
        if kinds[position - 1] is PartKind.REASONING and kinds[position] is None \
                and kinds[position + 1] is PartKind.RESPONSE:
            return text[runs[position][1]:runs[position][2]]
    return ""


def _result_header(trace: TemplateTrace, messages: list[dict[str, Any]], tools: Any) -> str:
    """The markup opening an answer after tool results where it is not the response header (Mistral's
    ``[/TOOL_RESULTS]``): what the generation prompt after a tool result ends with, from its last special token."""
    text, _, runs = trace.trace(messages, tools, generation=True)
    after = text[max(end for field, _, end in runs if field >= 0):]
    if trace.markup.response_header and trace.markup.response_header in after:
        return ""
    starts = [start for start, _ in trace.token_spans(after)]
    return after[max(starts):] if starts else ""
