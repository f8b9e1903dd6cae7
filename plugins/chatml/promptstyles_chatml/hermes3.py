"""Hermes 3 (NousResearch/Hermes-3-Llama-3.1-8B): ChatML after Llama-3's BOS, and with tools its ``tool_use``
template: a system turn declaring the tools (see :mod:`.hermes3_tools`), calls in ``<tool_call>`` tags and
results in a ``tool`` turn::

    <|begin_of_text|><|im_start|>system
    You are a function calling AI model. ... <tools> {...} </tools>...<|im_end|>
    <|im_start|>user
    Weather in Paris?<|im_end|>
    <|im_start|>assistant
    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call><|im_end|>
    <|im_start|>tool
    <tool_response>
    18
    </tool_response>
    <|im_end|><|im_start|>assistant
    18 °C.<|im_end|>

A record's system message follows the tool declaration as a turn of its own; a call turn has no text (the
template drops it; the style refuses it); a string of JSON as arguments is written as given. Records without
tools render as plain ChatML after the BOS, the model's default template.

As in its template, a generation prompt after a tool result is not a prefix of the training text: a tool turn
that is the last message closes with ``</tool_response><|im_end|>``, one before an answer with
``</tool_response>\n<|im_end|>``. Both are written as the template writes them.
"""

from __future__ import annotations

from types import MappingProxyType

from promptstyles import Part, PartKind, StyleError
from promptstyles.records import Conversation
from promptstyles.styles.agent import PartWriter, split_system

from .chatml import ChatMLStyle
from .hermes3_tools import write_hermes_tools
from .hermes_tools import HermesCalls, write_calls

__all__ = ["Hermes3Style"]

SYSTEM, PROMPT, HEADER = PartKind.SYSTEM, PartKind.PROMPT, PartKind.RESPONSE_HEADER
RESPONSE, END, RESULT = PartKind.RESPONSE, PartKind.END, PartKind.TOOL_RESULT


class Hermes3Style(HermesCalls, ChatMLStyle):
    name = "hermes3"
    description = "Hermes 3: ChatML after <|begin_of_text|>; Hermes tool use"
    bos_token = "<|begin_of_text|>"
    special_tokens = ("<|begin_of_text|>", "<|im_start|>", "<|im_end|>")
    renders = frozenset({"tools"})
    template_breaks = MappingProxyType(dict.fromkeys(
        ("generation prompt is a prefix", "generation ids are a prefix", "extract_response returns the output"),
        "a tool result that is the last message closes with </tool_response><|im_end|>, one before an answer "
        "with </tool_response>\n<|im_end|>"))

    def agent_parts(self, record: Conversation, *, generation: bool = False) -> list[Part]:
        system, messages = split_system(record)
        if generation and messages[-1].role == "assistant":
            messages = messages[:-1]
        out = PartWriter(self).markup(self.bos_token if self.bos else "", SYSTEM)
        write_hermes_tools(out, record.tools)
        if system is not None or self.system is not None:
            out.markup("<|im_start|>system\n", SYSTEM)
            (out.text if system is not None else out.markup)(system or self.system or "", SYSTEM)
            out.markup("<|im_end|>\n", SYSTEM)
        first = 2 if system is not None else 1
        for position, message in enumerate(messages):
            if message.role == "user":
                out.markup("<|im_start|>user\n", PROMPT).text(message.content, PROMPT).markup("<|im_end|>\n", PROMPT)
            elif message.role == "tool":
                opening = "<|im_start|>tool\n" if position and messages[position - 1].role != "tool" else ""
                last = position == len(messages) - 1
                out.markup(opening + "<tool_response>\n", RESULT).text(message.content, RESULT)
                closing = "\n</tool_response>" + ("" if last else "\n")
                out.markup(closing + ("<|im_end|>" if last or messages[position + 1].role != "tool" else ""), RESULT)
            elif message.tool_calls:
                if message.content:
                    raise StyleError(f"key 'messages[{position + first - 1}].content': style 'hermes3' writes a turn's "
                                     "tool calls or its text, not both (its template drops the text)")
                out.markup("<|im_start|>assistant\n", HEADER)
                write_calls(out, message.tool_calls, after_text=False, strings_as_given=True)
                out.markup("<|im_end|>\n", END)
            else:
                out.markup("<|im_start|>assistant\n", HEADER).text(message.content, RESPONSE)
                out.markup("<|im_end|>\n", END)
        if generation:
            out.markup("<|im_start|>assistant\n", HEADER)
        return out.done()
