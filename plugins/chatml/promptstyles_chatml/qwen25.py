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
from promptstyles.records import Conversation, Message
from promptstyles.styles.agent import PartWriter, split_system

from .hermes_tools import HermesCalls, write_calls, write_system, write_turns
from .qwen2 import Qwen2Style

__all__ = ["Qwen25Style"]

HEADER, RESPONSE, END = PartKind.RESPONSE_HEADER, PartKind.RESPONSE, PartKind.END


class Qwen25Style(HermesCalls, Qwen2Style):
    name = "qwen2.5"
    description = "Qwen2.5 instruct: ChatML with Qwen's default system prompt; Hermes tool calls"
    default_system = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
    special_tokens = ("<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>")
    """ChatML's, and the Hermes call tags, which Qwen2.5's tokenizer holds as single tokens."""
    renders = frozenset({"tools"})

    def agent_parts(self, record: Conversation, *, generation: bool = False) -> list[Part]:
        system, messages = split_system(record)
        if generation and messages[-1].role == "assistant":
            messages = messages[:-1]
        out = PartWriter(self)
        write_system(out, system, self.system or "", record.tools)

        def assistant(_position: int, message: Message) -> None:
            out.markup("<|im_start|>assistant\n", HEADER).text(message.content, RESPONSE)
            write_calls(out, message.tool_calls, after_text=bool(message.content), strings_as_given=False)
            out.markup("<|im_end|>\n", END)

        write_turns(out, messages, assistant)
        if generation:
            out.markup("<|im_start|>assistant\n", HEADER)
        return out.done()
