"""Tool use in Llama 3.1 / 3.2, as their official templates write it (tools in the first user message, the
default ``tools_in_user_message``)::

    <|begin_of_text|><|start_header_id|>system<|end_header_id|>

    Environment: ipython
    Cutting Knowledge Date: December 2023
    Today Date: 26 Jul 2024

    {system}<|eot_id|><|start_header_id|>user<|end_header_id|>

    Given the following functions, please respond with a JSON for a function call ...

    {tool spec as JSON, indented by 4}

    {first user message}<|eot_id|><|start_header_id|>assistant<|end_header_id|>

    {"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|><|start_header_id|>ipython<|end_header_id|>

    "18"<|eot_id|><|start_header_id|>assistant<|end_header_id|>

    18 °C.<|eot_id|>

One call per turn, and no text beside it (the template refuses more calls and drops the text; the style refuses
both). A tool result is written through ``tojson``, so a string result is quoted, as the template does.
"""

from __future__ import annotations

from typing import Any

from promptstyles import Part, PartKind, StyleError
from promptstyles.generated_calls import ParsedCall, read_call
from promptstyles.records import Conversation
from promptstyles.styles.agent import PartWriter, split_system
from promptstyles.tool_records import tojson

__all__ = ["llama_agent_parts", "parse_llama_call"]

SYSTEM, PROMPT, TOOLS = PartKind.SYSTEM, PartKind.PROMPT, PartKind.TOOLS
HEADER, RESPONSE, END = PartKind.RESPONSE_HEADER, PartKind.RESPONSE, PartKind.END
CALL, RESULT = PartKind.TOOL_CALL, PartKind.TOOL_RESULT
TURN = "<|start_header_id|>{}<|end_header_id|>\n\n"
TOOLS_INTRO = ("Given the following functions, please respond with a JSON for a function call with its proper "
               "arguments that best answers the given prompt.\n\nRespond in the format {\"name\": function name, "
               "\"parameters\": dictionary of argument name and its value}.Do not use variables.\n\n")


def llama_agent_parts(style: Any, record: Conversation, *, generation: bool) -> list[Part]:
    system, messages = split_system(record)
    first = 2 if system is not None else 1
    if generation and messages[-1].role == "assistant":
        messages = messages[:-1]
    out = PartWriter(style).markup(style.bos_token if style.bos else "", SYSTEM)
    out.markup(TURN.format("system") + ("Environment: ipython\n" if record.tools else ""), SYSTEM)
    out.markup(f"Cutting Knowledge Date: December 2023\nToday Date: {style.date}\n\n", SYSTEM)
    if system is not None:
        out.text(system.strip(), SYSTEM)
    else:
        out.markup((style.system or "").strip(), SYSTEM)
    out.markup("<|eot_id|>", SYSTEM)
    if record.tools:
        if messages[0].role != "user":
            raise StyleError(f"turn {first} ({messages[0].role}): style {style.name!r} writes the tools into the first "
                             "user message, as its template does; the conversation must open with one")
        out.markup(TURN.format("user") + TOOLS_INTRO, TOOLS)
        for tool in record.tools:
            out.text(tojson(tool, indent=4), TOOLS).markup("\n\n", TOOLS)
    for number, message in enumerate(messages, first):
        key = f"messages[{number - 1}]"
        if message.role == "user":
            opening = "" if record.tools and number == first else TURN.format("user")
            out.markup(opening, PROMPT).text(message.content.strip(), PROMPT).markup("<|eot_id|>", PROMPT)
        elif message.role == "tool":
            out.markup(TURN.format("ipython"), RESULT).text(tojson(message.content), RESULT)
            out.markup("<|eot_id|>", RESULT)
        elif message.tool_calls:
            if len(message.tool_calls) != 1:
                raise StyleError(f"key {key + '.tool_calls'!r}: style {style.name!r} writes one tool call per turn "
                                 f"(its template refuses more); this turn has {len(message.tool_calls)}: give each "
                                 "call its own assistant turn")
            if message.content or message.reasoning is not None:
                raise StyleError(f"key {key + '.content'!r}: style {style.name!r} writes a turn's tool call or its "
                                 "text, not both (its template drops the text); give them as two turns")
            call = message.tool_calls[0]
            out.markup(TURN.format("assistant"), HEADER).markup('{"name": "', CALL).text(call.name, CALL)
            out.markup('", "parameters": ', CALL).text(tojson(call.arguments), CALL).markup("}", CALL)
            out.markup("<|eot_id|>", END)
        else:
            out.markup(TURN.format("assistant"), HEADER).text(message.content.strip(), RESPONSE)
            out.markup("<|eot_id|>", END)
    if generation:
        out.markup(TURN.format("assistant"), HEADER)
    return out.done()


def parse_llama_call(response: str) -> tuple[ParsedCall, ...]:
    """The call a response makes, read back as the style writes it: the whole response is one JSON object with
    ``name`` and ``parameters``. A response that does not open with ``{`` is text and makes no call; one that
    does is a call attempt, parsed or not."""
    text = response.strip()
    return (read_call(text, arguments="parameters"),) if text.startswith("{") else ()
