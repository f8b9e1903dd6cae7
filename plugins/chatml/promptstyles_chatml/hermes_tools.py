"""Hermes-format tool use in ChatML, as the Qwen2.5 and Qwen3 templates write it.

The tool list closes the system turn, each call is a JSON object in ``<tool_call>`` tags on its own line,
and a run of tool results is one ``user`` turn of ``<tool_response>`` blocks::

    <|im_start|>system
    {system}

    # Tools
    ...
    <tools>
    {"type": "function", "function": {...}}
    </tools>
    ...<|im_end|>
    <|im_start|>assistant
    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call><|im_end|>
    <|im_start|>user
    <tool_response>
    {"temperature": 21}
    </tool_response><|im_end|>
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from promptstyles import PartKind
from promptstyles.generated_calls import ParsedCall, read_call
from promptstyles.records import Message, ToolCall
from promptstyles.styles.agent import PartWriter
from promptstyles.tool_records import tojson

__all__ = ["TOOLS_INTRO", "TOOLS_OUTRO", "HermesCalls", "parse_calls", "write_calls", "write_result", "write_system",
           "write_tools", "write_turns"]

SYSTEM, PROMPT = PartKind.SYSTEM, PartKind.PROMPT
TOOLS = PartKind.TOOLS
CALL = PartKind.TOOL_CALL
RESULT = PartKind.TOOL_RESULT

TOOLS_INTRO = ("# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided "
               "with function signatures within <tools></tools> XML tags:\n<tools>")
TOOLS_OUTRO = ("\n</tools>\n\nFor each function call, return a json object with function name and arguments "
               "within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
               "<args-json-object>}\n</tool_call><|im_end|>\n")


def write_tools(out: PartWriter, tools: Sequence[Mapping[str, Any]]) -> None:
    """The tool list and its instructions, ending the system turn (each spec is record text)."""
    out.markup(TOOLS_INTRO, TOOLS)
    for tool in tools:
        out.markup("\n", TOOLS).text(tojson(tool), TOOLS)
    out.markup(TOOLS_OUTRO, TOOLS)


def write_calls(out: PartWriter, calls: Sequence[ToolCall], *, after_text: bool, strings_as_given: bool) -> None:
    """Each call on its own line (the first one too when text precedes it). Qwen2.5 writes arguments through
    ``tojson`` always (a string of JSON is written as its object, what the model was trained on); Qwen3 writes
    a string as given."""
    for number, call in enumerate(calls):
        out.markup("\n<tool_call>\n{\"name\": \"" if number or after_text else "<tool_call>\n{\"name\": \"", CALL)
        out.text(call.name, CALL).markup("\", \"arguments\": ", CALL)
        out.text(call.arguments_json if strings_as_given else tojson(call.arguments), CALL)
        out.markup("}\n</tool_call>", CALL)


def parse_calls(response: str) -> tuple[ParsedCall, ...]:
    """Each ``<tool_call>`` block of a response, read back as :func:`write_calls` writes it: the JSON between
    the tags must load whole; a block never closed fails."""
    calls = []
    for block in response.split("<tool_call>")[1:]:
        body, closed, _ = block.partition("</tool_call>")
        calls.append(read_call(body) if closed else ParsedCall(block, problem="no closing </tool_call>"))
    return tuple(calls)


class HermesCalls:
    """Reads a style's Hermes tool calls back from a generated response (see :func:`parse_calls`)."""

    def parse_tool_calls(self, response: str) -> tuple[ParsedCall, ...] | None:
        return parse_calls(response)


def write_result(out: PartWriter, messages: Sequence[Message], position: int) -> None:
    """The tool result at ``position``: a run of results shares one ``user`` turn."""
    first = position == 0 or messages[position - 1].role != "tool"
    last = position == len(messages) - 1 or messages[position + 1].role != "tool"
    out.markup(("<|im_start|>user" if first else "") + "\n<tool_response>\n", RESULT)
    out.text(messages[position].content, RESULT)
    out.markup("\n</tool_response>" + ("<|im_end|>\n" if last else ""), RESULT)


def write_system(out: PartWriter, record_system: str | None, style_system: str | None,
                 tools: Sequence[Mapping[str, Any]]) -> None:
    """The system turn: the record's system text (else the style's), then the tool list when tools are declared;
    no turn when there is neither."""
    text = record_system if record_system is not None else style_system
    if text is None and not tools:
        return
    out.markup("<|im_start|>system\n", SYSTEM)
    if record_system is not None:
        out.text(record_system, SYSTEM)
    else:
        out.markup(style_system or "", SYSTEM)
    if tools:
        out.markup("\n\n" if text is not None else "", SYSTEM)
        write_tools(out, tools)
    else:
        out.markup("<|im_end|>\n", SYSTEM)


def write_turns(out: PartWriter, messages: Sequence[Message], assistant: Callable[[int, Message], None]) -> None:
    """User turns and tool results as the templates write them; each assistant turn by ``assistant``."""
    for position, message in enumerate(messages):
        if message.role == "user":
            out.markup("<|im_start|>user\n", PROMPT).text(message.content, PROMPT).markup("<|im_end|>\n", PROMPT)
        elif message.role == "tool":
            write_result(out, messages, position)
        else:
            assistant(position, message)
