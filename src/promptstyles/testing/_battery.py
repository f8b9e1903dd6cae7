"""The default records the conformance kit renders: the shapes of data that break styles in practice.

Each record has a label, used in failure lines, so a plugin author sees which kind of data failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import StyleError
from ..records import Record, to_record
from ..styles._base import Part, Style

__all__ = ["Case", "default_records", "style_markers"]


@dataclass(frozen=True)
class Case:
    """A record to check and its label; ``optional`` records may be refused by a style with a ``StyleError``."""

    label: str
    record: Record
    optional: bool = False


def style_markers(style: Style) -> tuple[str, ...]:
    """The strings a style writes as markup: special tokens, stop sequences and its headers (stripped), with
    the tags of tool calls and reasoning for a style that renders them."""
    probes = [to_record({"instruction": "Name a colour.", "input": "Any.", "output": "Red."})]
    probes += [case.record for case in _agent_cases(style)]
    markup: list[str] = [*style.special_tokens, *style.stop_sequences]
    for probe in probes:
        try:
            parts: list[Part] = style.parts(probe)
        except Exception:  # a style that cannot render a probe fails the "renders" check instead
            parts = []
        markup += [part.text.strip() for part in parts if part.markup]
    return tuple(marker for marker in dict.fromkeys(markup) if marker)


def default_records(style: Style) -> list[Case]:
    """The built-in battery: instruction with and without input, unicode, whitespace-only input, long text,
    the style's own markers inside record text, and conversations (one with a whitespace-only message, one
    with a system prompt, which a style may refuse, one with the markers) when the style renders them; a tool
    call and its result, and reasoning, each also with the markers inside, for a style that renders those."""
    markers = " ".join(style_markers(style))
    long_text = " ".join(f"Sentence number {n} of a long instruction." for n in range(400))
    cases = [
        Case("instruction", to_record({"instruction": "Name a primary colour.", "output": "Red."})),
        Case("instruction+input", to_record({"instruction": "Translate to French.", "input": "Good morning.",
                                             "output": "Bonjour."})),
        Case("unicode", to_record({"instruction": "Traduis « café » en 日本語 👩\u200d💻", "input": "Ça va? ½ ≠ ²",
                                   "output": "コーヒー ☕ \u2014 Cafe\u0301."})),
        Case("whitespace-only input", to_record({"instruction": "Say hello.", "input": " \t\n ",
                                                 "output": "Hello."})),
        Case("long text", to_record({"instruction": long_text, "output": long_text.replace("instruction",
                                                                                            "answer")})),
        Case("markers in text", to_record({"instruction": f"Explain {markers} please.", "input": markers,
                                           "output": f"They are {markers} indeed."})),
    ]
    if style.supports_conversations:
        turns = [("user", "Hi there."), ("assistant", "Hello! How can I help?"), ("user", "Add 2 and 3."),
                 ("assistant", "5.")]
        cases.append(Case("conversation", _conversation(turns)))
        cases.append(Case("whitespace-only message", _conversation([("user", " \n\t "), ("assistant", "Ok.")])))
        cases.append(Case("conversation with system", _conversation([("system", "Be brief."), *turns]),
                          optional=True))
        cases.append(Case("markers in conversation", _conversation([
            ("user", f"Explain {markers} please."), ("assistant", f"They are {markers} indeed."),
            ("user", markers), ("assistant", markers)])))
    return [*cases, *_agent_cases(style), *_agent_cases(style, f" {markers}", "markers in ")]


def _conversation(turns: list[tuple[str, str]]) -> Record:
    return to_record({"messages": [{"role": role, "content": content} for role, content in turns]})


def _declares_tools(style: Style) -> bool:
    """Whether ``style`` writes a tool list; one that refuses it by key (DeepSeek-R1's template has no place for
    one) is given its tool calls without it."""
    try:
        style.parts(_tool_turns("", declare=True))
    except StyleError as error:
        return not str(error).startswith("key 'tools'")
    except Exception:  # a style that cannot render a probe fails the "renders" check instead
        pass
    return True


def _agent_cases(style: Style, text: str = "", prefix: str = "") -> list[Case]:
    """A tool call and its result, and reasoning before an answer, for what ``style.renders`` names; ``text``
    (the style's markers) is added to every field a user, a tool or the assistant fills."""
    cases = []
    if "tools" in style.renders:
        declare = _declares_tools(style)
        cases.append(Case(f"{prefix}tool call and result", _tool_turns(text, declare=declare)))
        cases.append(Case(f"{prefix}two tool calls", _tool_turns(text, declare=declare, calls=2),
                          optional=True))  # a format of one call per turn refuses it
    if "reasoning" in style.renders:
        cases.append(Case(f"{prefix}reasoning", to_record({"messages": [
            {"role": "user", "content": f"Is it warm in Paris?{text}"},
            {"role": "assistant", "content": f"Yes, it is.{text}",
             "reasoning_content": f"The user asks about the weather.{text}"}]})))
    return cases


def _tool_turns(text: str, *, declare: bool, calls: int = 1) -> Record:
    """A tool (declared when ``declare``), ``calls`` calls of it in one turn, their results and the answer, each
    field its own words plus ``text``. Calls alone in their turn, with nine-character ids: what every tool
    format can write."""
    ids = [f"abcdefgh{n}" for n in range(1, calls + 1)]
    record: dict[str, Any] = {"messages": [
        {"role": "user", "content": f"What is the weather in Paris?{text}"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": id_, "type": "function", "function": {"name": "get_weather", "arguments": {
                "city": "Paris", "unit": f"celsius{text}"}}} for id_ in ids]},
        *({"role": "tool", "content": f"Sunny, {17 + n} degrees.{text}", "tool_call_id": id_,
           "name": "get_weather"} for n, id_ in enumerate(ids, 1)),
        {"role": "assistant", "content": f"It is sunny in Paris.{text}"}]}
    if declare:
        record["tools"] = [{"type": "function", "function": {
            "name": "get_weather", "description": f"The weather in a city.{text}", "parameters": {
                "type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                "required": ["city"]}}}]
    return to_record(record)
