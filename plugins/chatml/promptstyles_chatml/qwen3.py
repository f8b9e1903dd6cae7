"""Qwen3: ChatML with reasoning in ``<think>`` blocks and Hermes tool calls (see :mod:`.hermes_tools`)::

    <|im_start|>user
    What is 17 * 3?<|im_end|>
    <|im_start|>assistant
    <think>
    17 * 3 = 51.
    </think>

    51<|im_end|>

As the official template does, reasoning is written only for assistant turns after the last user message
(the current tool chain); earlier turns lose theirs, and the final assistant turn always has a think block
(empty when the record has no reasoning). So a multi-turn conversation is not a prefix of its own later
renders: train every turn's reasoning with ``data.turns: per_assistant``. A string of JSON as a call's
arguments is written as given, as the template does. Reasoning is read from ``reasoning_content`` (or
``reasoning``, ``thinking``); a ``<think>`` written in a message's text stays text (the template would split
it off as reasoning).

Option ``enable_thinking`` (default true): false ends the generation prompt with an empty think block, as the
template's ``enable_thinking=False`` does; the final turn's empty block is then prompt, not trained, and a
record with reasoning in that turn is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from promptstyles import Part, PartKind, StyleError
from promptstyles.generated_calls import ParsedCall
from promptstyles.records import Message, Record
from promptstyles.styles.agent import AgentStyle, PartWriter, as_conversation, split_system

from .hermes_tools import parse_calls, write_calls, write_system, write_turns

__all__ = ["Qwen3Style"]

HEADER = PartKind.RESPONSE_HEADER
RESPONSE, END, REASONING = PartKind.RESPONSE, PartKind.END, PartKind.REASONING
EMPTY_THINK = "<think>\n\n</think>\n\n"


def last_query(messages: Sequence[Message]) -> int:
    """The template's ``last_query_index``: the last user message that is not a wrapped tool response."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.role == "user" and not (message.content.startswith("<tool_response>")
                                           and message.content.endswith("</tool_response>")):
            return index
    return len(messages) - 1


class Qwen3Style(AgentStyle):
    name = "qwen3"
    description = "Qwen3: ChatML with <think> reasoning and Hermes tool calls; option enable_thinking"
    renders = frozenset({"tools", "reasoning"})
    special_tokens = ("<|im_start|>", "<|im_end|>")
    stops = ("<|im_end|>", "<|im_start|>", "<|endoftext|>")

    def __init__(self, *, enable_thinking: bool = True, system: str | None = None, joiner: str = "\n") -> None:
        super().__init__(system=system, joiner=joiner)
        if not isinstance(enable_thinking, bool):
            raise StyleError(f"style 'qwen3': option 'enable_thinking' must be true or false, got {enable_thinking!r}")
        self.enable_thinking = enable_thinking
        self.header = "<|im_start|>assistant\n" + ("" if enable_thinking else EMPTY_THINK)

    def parts(self, record: Record, *, generation: bool = False) -> list[Part]:
        system, rest = split_system(as_conversation(record, self.joiner))
        tools = getattr(record, "tools", ())
        if generation and rest[-1].role == "assistant":
            rest = rest[:-1]
        out = PartWriter(self)
        write_system(out, system, self.system, tools)
        query = last_query(rest)
        numbered = 2 if system is not None else 1

        def assistant(position: int, message: Message) -> None:
            last = position == len(rest) - 1 and not generation
            self._assistant(out, message, think=position > query and (last or bool(message.reasoning)), last=last,
                            number=position + numbered)

        write_turns(out, rest, assistant)
        if generation:
            out.markup(self.header, HEADER)
        return out.done()

    def extract_response(self, generated: str, *, prompt: str | None = None) -> str:
        """The answer after the think block a model generates first (the block itself is reasoning)."""
        return super().extract_response(generated, prompt=prompt).rpartition("</think>")[2].strip()

    def parse_tool_calls(self, response: str) -> tuple[ParsedCall, ...] | None:
        """The Hermes calls after the think block (a call written while reasoning is not a call made)."""
        return parse_calls(response.rpartition("</think>")[2])

    def _assistant(self, out: PartWriter, message: Message, *, think: bool, last: bool, number: int) -> None:
        reasoning = (message.reasoning or "").strip("\n")
        if not think:
            out.markup("<|im_start|>assistant\n", HEADER).text(message.content, RESPONSE)
        elif last and not self.enable_thinking:
            if reasoning:
                raise StyleError(f"turn {number} (assistant): key 'reasoning_content': enable_thinking is false, "
                                 "so the final turn's think block is the empty one of the prompt; leave the "
                                 "reasoning out or set enable_thinking: true")
            out.markup(self.header, HEADER).text(message.content.lstrip("\n"), RESPONSE)
        else:
            out.markup("<|im_start|>assistant\n", HEADER).markup("<think>\n", REASONING).text(reasoning, REASONING)
            out.markup("\n</think>\n\n", REASONING).text(message.content.lstrip("\n"), RESPONSE)
        write_calls(out, message.tool_calls, after_text=bool(message.content), strings_as_given=True)
        out.markup("<|im_end|>\n", END)
