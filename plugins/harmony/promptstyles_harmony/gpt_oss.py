"""gpt-oss (openai/gpt-oss-20b and -120b), OpenAI's harmony format as its official template writes it::

    <|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.
    Knowledge cutoff: 2024-06
    Current date: 2025-07-04

    Reasoning: medium

    # Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>
    <|start|>developer<|message|># Instructions

    {system}

    <|end|><|start|>user<|message|>{user}<|end|><|start|>assistant<|channel|>analysis<|message|>{reasoning}<|end|>
    <|start|>assistant<|channel|>final<|message|>{answer}<|return|>

(without the line breaks between messages). A record's system message is the developer's instructions. The
final answer ends with ``<|return|>`` and is preceded by its reasoning (the analysis channel); earlier answers end
with ``<|end|>`` and lose their reasoning, as the template writes them (train every turn's reasoning with
``data.turns: per_assistant``). The generation prompt is ``<|start|>assistant``: the model writes the channels.

Options: ``reasoning_effort`` (``low``, ``medium``, ``high``; default ``medium``) and ``date`` (the template's
``Current date``, a string such as ``"2025-07-04"`` or a date; default today's, taken once when the style is
built so that one dataset has one date). Tools (the ``functions`` namespace, ``<|call|>``) are not written yet:
records with tools are refused.
"""

from __future__ import annotations

import datetime as dt

from promptstyles import Part, PartKind, StyleError
from promptstyles.records import Record
from promptstyles.styles.agent import AgentStyle, PartWriter, as_conversation, split_system

__all__ = ["GptOssStyle"]

SYSTEM, PROMPT, HEADER = PartKind.SYSTEM, PartKind.PROMPT, PartKind.RESPONSE_HEADER
RESPONSE, END, REASONING = PartKind.RESPONSE, PartKind.END, PartKind.REASONING
EFFORTS = ("low", "medium", "high")


class GptOssStyle(AgentStyle):
    name = "gpt-oss"
    description = "gpt-oss: OpenAI harmony, analysis and final channels; options reasoning_effort, date"
    special_tokens = ("<|start|>", "<|message|>", "<|channel|>", "<|end|>", "<|return|>")
    renders = frozenset({"reasoning"})
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
                         "# Valid channels: analysis, commentary, final. Channel must be included for every message."
                         "<|end|>")

    def parts(self, record: Record, *, generation: bool = False) -> list[Part]:
        system, rest = split_system(as_conversation(record, self.joiner))
        if generation and rest[-1].role == "assistant":
            rest = rest[:-1]
        out = PartWriter(self).markup(self.preamble, SYSTEM)
        instructions = system if system is not None else self.system
        if instructions:
            out.markup("<|start|>developer<|message|># Instructions\n\n", SYSTEM)
            (out.text if system is not None else out.markup)(instructions, SYSTEM)
            out.markup("\n\n<|end|>", SYSTEM)
        for position, message in enumerate(rest):
            if message.role == "user":
                out.markup("<|start|>user<|message|>", PROMPT).text(message.content, PROMPT).markup("<|end|>", PROMPT)
                continue
            out.markup("<|start|>assistant", HEADER)
            final = position == len(rest) - 1
            if final and message.reasoning is not None:
                out.markup("<|channel|>analysis<|message|>", REASONING).text(message.reasoning, REASONING)
                out.markup("<|end|><|start|>assistant", REASONING)
            out.markup("<|channel|>final<|message|>", RESPONSE).text(message.content, RESPONSE)
            out.markup("<|return|>" if final else "<|end|>", END)
        if generation:
            out.markup("<|start|>assistant", HEADER)
        return out.done()

    def extract_response(self, generated: str, *, prompt: str | None = None) -> str:
        """The final channel's text, cut at the first stop: the model writes its analysis first."""
        if prompt is not None and generated.startswith(prompt):
            generated = generated[len(prompt) :]
        return super().extract_response(generated.rpartition("<|channel|>final<|message|>")[2])
