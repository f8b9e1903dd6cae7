"""Qwen2.5 instruct: Qwen2's format (see :mod:`.qwen2`) with Qwen's own default system prompt::

    <|im_start|>system
    You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>

``system=""`` writes an empty system turn, as the template does for an empty system message; there is no
way to leave the turn out.

Tools, tool calls and tool results are written in the Hermes format of :mod:`.hermes_tools`, as the official
template writes them. Its template writes a call's arguments through ``tojson`` even when a dataset gives them
as a string of JSON (it would write the quoted string); the style writes that string's object, which is what
the template writes for the object and what the model was trained on.
"""

from __future__ import annotations

from promptstyles import Part, PartKind
from promptstyles.records import Conversation, Record
from promptstyles.styles.agent import PartWriter, split_system

from .hermes_tools import write_calls, write_result, write_tools
from .qwen2 import Qwen2Style

__all__ = ["Qwen25Style"]

SYSTEM, PROMPT, HEADER = PartKind.SYSTEM, PartKind.PROMPT, PartKind.RESPONSE_HEADER
RESPONSE, END = PartKind.RESPONSE, PartKind.END


class Qwen25Style(Qwen2Style):
    name = "qwen2.5"
    description = "Qwen2.5 instruct: ChatML with Qwen's default system prompt; Hermes tool calls"
    default_system = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
    renders = frozenset({"tools"})

    def parts(self, record: Record, *, generation: bool = False) -> list[Part]:
        if not (isinstance(record, Conversation) and record.agentic):
            return super().parts(record, generation=generation)
        system, messages = split_system(record)
        if generation and messages[-1].role == "assistant":
            messages = messages[:-1]
        out = PartWriter(self).markup("<|im_start|>system\n", SYSTEM)
        if system is not None:
            out.text(system, SYSTEM)
        else:
            out.markup(self.system or "", SYSTEM)
        if record.tools:
            out.markup("\n\n", SYSTEM)
            write_tools(out, record.tools)
        else:
            out.markup("<|im_end|>\n", SYSTEM)
        for position, message in enumerate(messages):
            if message.role == "user":
                out.markup("<|im_start|>user\n", PROMPT).text(message.content, PROMPT).markup("<|im_end|>\n", PROMPT)
            elif message.role == "tool":
                write_result(out, messages, position)
            else:
                out.markup("<|im_start|>assistant\n", HEADER).text(message.content, RESPONSE)
                write_calls(out, message.tool_calls, after_text=bool(message.content), strings_as_given=False)
                out.markup("<|im_end|>\n", END)
        if generation:
            out.markup("<|im_start|>assistant\n", HEADER)
        return out.done()
