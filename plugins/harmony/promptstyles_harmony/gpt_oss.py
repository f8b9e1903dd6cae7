"""gpt-oss (openai/gpt-oss-20b and -120b), OpenAI's harmony format as its official template writes it::

    <|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.
    Knowledge cutoff: 2024-06
    Current date: 2025-07-04

    Reasoning: medium

    # Valid channels: analysis, commentary, final. Channel must be included for every message.
    Calls to these tools must go to the commentary channel: 'functions'.<|end|>
    <|start|>developer<|message|># Instructions

    {system}

    # Tools

    ## functions

    namespace functions {
    ...
    } // namespace functions<|end|><|start|>user<|message|>{user}<|end|>
    <|start|>assistant<|channel|>analysis<|message|>{reasoning}<|end|>
    <|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>{"city": "Oslo"}<|call|>
    <|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>"-3"<|end|>
    <|start|>assistant<|channel|>analysis<|message|>{reasoning}<|end|>
    <|start|>assistant<|channel|>final<|message|>{answer}<|return|>

(without the line breaks between messages; the tools line of the system message and the tools section of the
developer message are there only when the record declares tools, see :mod:`.harmony_tools`). A record's system
message is the developer's instructions. The final answer ends with ``<|return|>`` and is preceded by its
reasoning (the analysis channel); earlier answers end with ``<|end|>`` and lose their reasoning, as the template
writes them (train every turn's reasoning with ``data.turns: per_assistant``). The generation prompt is
``<|start|>assistant``: the model writes the channels.

Tool calls, as the template writes them: one call per assistant message (the template writes only the first, so
more are refused: give each its own message); the call's reasoning, or else its text, is its analysis message,
written only while no final answer follows (the template then drops it, as it drops earlier answers'
reasoning), and is trained as reasoning; the arguments are the object through ``tojson`` (a string of JSON is
written as its object, what the model emits, where the template would quote the string); a tool result is
written through ``tojson`` (a string is quoted) and addressed from the function the call before it named.

Options: ``reasoning_effort`` (``low``, ``medium``, ``high``; default ``medium``) and ``date`` (the template's
``Current date``, a string such as ``"2025-07-04"`` or a date; default today's, taken once when the style is
built so that one dataset has one date).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from promptstyles import Part, PartKind, StyleError
from promptstyles.records import Message, Record
from promptstyles.styles.agent import AgentStyle, PartWriter, as_conversation, split_system
from promptstyles.tool_records import tojson

from .harmony_tools import write_namespace

__all__ = ["TOOL_TOKENS", "GptOssStyle"]

SYSTEM, PROMPT, HEADER = PartKind.SYSTEM, PartKind.PROMPT, PartKind.RESPONSE_HEADER
RESPONSE, END, REASONING = PartKind.RESPONSE, PartKind.END, PartKind.REASONING
TOOLS, CALL, RESULT = PartKind.TOOLS, PartKind.TOOL_CALL, PartKind.TOOL_RESULT
EFFORTS = ("low", "medium", "high")
TOOL_TOKENS = ("<|call|>",)
"""The special token of tool markup alone (a call ends with it instead of ``<|end|>``)."""
TOOLS_LINE = "\nCalls to these tools must go to the commentary channel: 'functions'."


class GptOssStyle(AgentStyle):
    name = "gpt-oss"
    description = "gpt-oss: OpenAI harmony, analysis and final channels, functions namespace; options " \
                  "reasoning_effort, date"
    special_tokens = ("<|start|>", "<|message|>", "<|channel|>", "<|end|>", "<|return|>", *TOOL_TOKENS)
    renders = frozenset({"reasoning", "tools"})
    stops = ("<|return|>", "<|call|>", "<|end|>")
    """``<|end|>`` ends earlier answers (and the analysis message, which :meth:`extract_response` skips)."""

    def __init__(self, *, reasoning_effort: str = "medium", date: str | dt.date | None = None,
                 system: str | None = None, joiner: str = "\n") -> None:
        super().__init__(system=system, joiner=joiner)
        if reasoning_effort not in EFFORTS:
            raise StyleError(f"style 'gpt-oss': option 'reasoning_effort' must be one of {', '.join(EFFORTS)}, "
                             f"got {reasoning_effort!r}")
        if date is None:
            date = dt.date.today()
        if not isinstance(date, (str, dt.date)):
            raise StyleError(f"style 'gpt-oss': option 'date' must be a string or a date, got {date!r}")
        self.reasoning_effort = reasoning_effort
        self.date = date.strftime("%Y-%m-%d") if isinstance(date, dt.date) else date
        self.preamble = ("<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
                         f"Knowledge cutoff: 2024-06\nCurrent date: {self.date}\n\nReasoning: {reasoning_effort}\n\n"
                         "# Valid channels: analysis, commentary, final. Channel must be included for every message.")

    def parts(self, record: Record, *, generation: bool = False) -> list[Part]:
        conversation = as_conversation(record, self.joiner)
        system, rest = split_system(conversation)
        tools = conversation.tools
        if generation and rest[-1].role == "assistant":
            rest = rest[:-1]
        out = PartWriter(self).markup(self.preamble + (TOOLS_LINE if tools else "") + "<|end|>", SYSTEM)
        instructions = system if system is not None else self.system
        if instructions or tools:
            out.markup("<|start|>developer<|message|>", SYSTEM)
        if instructions:
            out.markup("# Instructions\n\n", SYSTEM)
            (out.text if system is not None else out.markup)(instructions, SYSTEM)
            out.markup("\n\n", SYSTEM)
        if tools:
            out.markup("# Tools\n\n", TOOLS)
            write_namespace(out, tools)
        if instructions or tools:
            out.markup("<|end|>", TOOLS if tools else SYSTEM)
        called = ""
        for position, message in enumerate(rest):
            if message.role == "user":
                out.markup("<|start|>user<|message|>", PROMPT).text(message.content, PROMPT).markup("<|end|>", PROMPT)
            elif message.role == "tool":
                out.markup("<|start|>functions.", RESULT).text(called, RESULT)
                out.markup(" to=assistant<|channel|>commentary<|message|>", RESULT)
                out.text(tojson(message.content), RESULT).markup("<|end|>", RESULT)
            elif message.tool_calls:
                key = f"messages[{position + (system is not None)}]"
                called = self._call(out, message, key, answered=_answered(rest[position + 1 :]))
            else:
                self._answer(out, message, final=position == len(rest) - 1)
                called = ""
        if generation:
            out.markup("<|start|>assistant", HEADER)
        return out.done()

    @staticmethod
    def _answer(out: PartWriter, message: Message, *, final: bool) -> None:
        out.markup("<|start|>assistant", HEADER)
        if final and message.reasoning is not None:
            out.markup("<|channel|>analysis<|message|>", REASONING).text(message.reasoning, REASONING)
            out.markup("<|end|><|start|>assistant", REASONING)
        out.markup("<|channel|>final<|message|>", RESPONSE).text(message.content, RESPONSE)
        out.markup("<|return|>" if final else "<|end|>", END)

    @staticmethod
    def _call(out: PartWriter, message: Message, key: str, *, answered: bool) -> str:
        """One call turn: its analysis (reasoning, else text) while no final answer follows, then the call;
        returns the function's name, which addresses the tool result."""
        if len(message.tool_calls) > 1:
            raise StyleError(f"key {key + '.tool_calls'!r}: style 'gpt-oss' writes one tool call per assistant "
                             f"message (its template writes only the first); this one has {len(message.tool_calls)}:"
                             " give each call its own assistant message")
        if message.content and message.reasoning:
            raise StyleError(f"key {key + '.content'!r}: style 'gpt-oss' writes a call's reasoning or its text as "
                             "the analysis before it, not both (its template refuses both); give one")
        analysis = message.reasoning or message.content
        call = message.tool_calls[0]
        out.markup("<|start|>assistant", HEADER)
        if analysis and not answered:
            out.markup("<|channel|>analysis<|message|>", REASONING).text(analysis, REASONING)
            out.markup("<|end|><|start|>assistant", REASONING)
        out.markup(" to=functions.", CALL).text(call.name, CALL).markup("<|channel|>commentary json<|message|>", CALL)
        out.text(tojson(call.arguments), CALL).markup("<|call|>", END)
        return call.name

    def extract_response(self, generated: str, *, prompt: str | None = None) -> str:
        """The final channel's text, cut at the first stop: the model writes its analysis first."""
        if prompt is not None and generated.startswith(prompt):
            generated = generated[len(prompt) :]
        return super().extract_response(generated.rpartition("<|channel|>final<|message|>")[2])


def _answered(later: Sequence[Message]) -> bool:
    """Whether a final answer (an assistant message without calls) follows: the template then drops the analysis
    of the calls before it."""
    return any(message.role == "assistant" and not message.tool_calls for message in later)
