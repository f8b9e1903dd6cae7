"""Tool use in Mistral v0.3's format, as the official template of mistralai/Mistral-7B-Instruct-v0.3 writes it::

    <s>[AVAILABLE_TOOLS] [{"type": "function", "function": {"name": "get_weather", ...}}][/AVAILABLE_TOOLS]
    [INST] Weather in Paris?[/INST][TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"},
    "id": "call00001"}]</s>[TOOL_RESULTS] {"content": 18, "call_id": "call00001"}[/TOOL_RESULTS] 18 °C.</s>

(one line in fact; Mistral Nemo writes no space after its control tokens and does not trim answers). The tool
list stands before the last user message only; a call turn has no text; call ids
are 9 alphanumeric characters; a tool result is written raw into ``{"content": ...}``. The answer after tool
results opens with ``[/TOOL_RESULTS]`` as an answer after a user message opens with ``[/INST]``: that markup is
the turn's header, so the generation prompt ends with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from promptstyles import Part, PartKind, StyleError
from promptstyles.generated_calls import ParsedCall, read_call_list
from promptstyles.records import Conversation, Message
from promptstyles.styles.agent import PartWriter, split_system
from promptstyles.tool_records import tojson

__all__ = ["mistral_agent_parts", "parse_mistral_calls"]

PROMPT, SYSTEM, TOOLS = PartKind.PROMPT, PartKind.SYSTEM, PartKind.TOOLS
HEADER, RESPONSE, END = PartKind.RESPONSE_HEADER, PartKind.RESPONSE, PartKind.END
CALL, RESULT = PartKind.TOOL_CALL, PartKind.TOOL_RESULT
_CALL_ID = re.compile(r"[A-Za-z0-9]{9}")


def _tools(out: PartWriter, tools: Sequence[Mapping[str, Any]], space: str) -> None:
    """Each spec's function as the template writes it: strings raw in quotes, other values through ``tojson``."""
    out.markup(f"[AVAILABLE_TOOLS]{space}[", TOOLS)
    for number, tool in enumerate(tools):
        out.markup('{"type": "function", "function": {', TOOLS)
        items = [(key, value) for key, value in tool["function"].items() if key != "return"]
        for position, (key, value) in enumerate(items):
            text = f'"{key}": "{value}"' if isinstance(value, str) else f'"{key}": {tojson(value)}'
            out.text(text, TOOLS).markup(", " if position < len(items) - 1 else "", TOOLS)
        out.markup("}}" + (", " if number < len(tools) - 1 else "]"), TOOLS)
    out.markup("[/AVAILABLE_TOOLS]", TOOLS)


def _call_id(value: str | None, key: str, style: str) -> str:
    if value is None or not _CALL_ID.fullmatch(value):
        raise StyleError(f"key {key!r}: style {style!r} needs call ids of 9 letters or digits (as its template "
                         f"does), got {value!r}")
    return value


def _check_alternation(messages: Sequence[Message], first: int, style: str) -> None:
    """User and assistant text turns alternate; call turns and tool results are not counted (as in the template)."""
    expected = "user"
    for number, message in enumerate(messages, first):
        if message.role == "tool" or message.tool_calls:
            continue
        if message.role != expected:
            raise StyleError(f"turn {number} ({message.role}): style {style!r} needs user and assistant turns "
                             "to alternate (tool calls and results aside), as its template does")
        expected = "assistant" if expected == "user" else "user"


def mistral_agent_parts(style: Any, record: Conversation, *, generation: bool) -> list[Part]:
    system, messages = split_system(record)
    first = 2 if system is not None else 1
    _check_alternation(messages, first, style.name)
    space = " " if style.user_prefix.endswith(" ") else ""  # v0.3 spaces its control tokens, Nemo does not
    if generation and messages[-1].role == "assistant":
        messages = messages[:-1]
    if system is None and style.system is not None:
        system = style.system
    users = [message for message in messages if message.role == "user"]
    out = PartWriter(style).markup(style.bos_token if style.bos else "", PROMPT)
    for number, message in enumerate(messages):
        key = f"messages[{number + first - 1}]"
        if message.role == "user":
            if record.tools and message == users[-1]:
                _tools(out, record.tools, space)
            out.markup(style.user_prefix, PROMPT)
            if system is not None and message is users[-1]:
                out.text(system, SYSTEM).markup("\n\n", SYSTEM)
            out.text(message.content, PROMPT).markup("[/INST]", HEADER)
        elif message.role == "tool":
            out.markup(f'[TOOL_RESULTS]{space}{{"content": ', RESULT).text(message.content, RESULT)
            call_id = _call_id(message.tool_call_id, f"{key}.tool_call_id", style.name)
            out.markup(', "call_id": "', RESULT).text(call_id, RESULT).markup('"}', RESULT)
            follows = messages[number + 1].role if number + 1 < len(messages) else ("assistant" if generation else "")
            out.markup("[/TOOL_RESULTS]", HEADER if follows == "assistant" else RESULT)
        elif message.tool_calls:
            if message.content or message.reasoning is not None:
                raise StyleError(f"key {key + '.content'!r}: style {style.name!r} writes a turn's tool calls or its "
                                 "text, not both (its template drops the text); give them as two turns")
            out.markup(f"[TOOL_CALLS]{space}[", CALL)
            for position, call in enumerate(message.tool_calls):
                out.markup('{"name": ', CALL).text(tojson(call.name), CALL).markup(', "arguments": ', CALL)
                out.text(tojson(call.arguments), CALL).markup(', "id": "', CALL)
                out.text(_call_id(call.id, f"{key}.tool_calls[{position}].id", style.name), CALL)
                out.markup('"}' + (", " if position < len(message.tool_calls) - 1 else "]"), CALL)
            out.markup("</s>", END)
        else:
            text = message.content.strip() if "assistant" in style.strip_roles else message.content
            out.markup(style.response_lead, RESPONSE).text(text, RESPONSE).markup("</s>", END)
    return out.done()


def parse_mistral_calls(response: str) -> tuple[ParsedCall, ...]:
    """The calls after each ``[TOOL_CALLS]`` of a response, read back as the style writes them: a JSON list of
    ``{"name", "arguments", "id"}`` that must load whole (a list that does not load is one failed call)."""
    return tuple(call for block in response.split("[TOOL_CALLS]")[1:] for call in read_call_list(block))
