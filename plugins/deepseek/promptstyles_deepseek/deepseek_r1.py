"""DeepSeek-R1, as its distilled models' template writes it (deepseek-ai/DeepSeek-R1-Distill-Qwen-32B and
siblings)::

    <｜begin▁of▁sentence｜>{system}<｜User｜>{user}<｜Assistant｜><think>
    {reasoning}
    </think>

    {answer}<｜end▁of▁sentence｜>

The template cannot write reasoning: its generation prompt ends with ``<think>\\n`` and it drops everything up
to ``</think>`` from an answer, so training text of its own would teach an answer with no thinking after a
prompt that asks for it. The style writes the final answer as the model generates it after that prompt
(reasoning, ``</think>``, answer), so the generation prompt is the template's and a prefix of the training
text; earlier answers lose their reasoning, as the template writes them (train every turn's reasoning with
``data.turns: per_assistant``). A record with no reasoning in its final turn gets the empty think block the
model writes then. The template's tool-call branch is not followed (it never closes a single call); records
with tools are refused.
"""

# ruff: noqa: RUF001, RUF002  (the full-width bars are DeepSeek's real token text)

from __future__ import annotations

from promptstyles import Part, PartKind
from promptstyles.records import Record
from promptstyles.styles.agent import AgentStyle, PartWriter, as_conversation, split_system

__all__ = ["DeepSeekR1Style"]

SYSTEM, PROMPT, HEADER = PartKind.SYSTEM, PartKind.PROMPT, PartKind.RESPONSE_HEADER
RESPONSE, END, REASONING = PartKind.RESPONSE, PartKind.END, PartKind.REASONING
BOS, EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"


class DeepSeekR1Style(AgentStyle):
    name = "deepseek-r1"
    description = "DeepSeek-R1 distills: <｜User｜> ... <｜Assistant｜><think> reasoning </think> answer"
    special_tokens = (BOS, EOS, "<｜User｜>", "<｜Assistant｜>")
    renders = frozenset({"reasoning"})
    stops = (EOS, "<｜User｜>")

    def parts(self, record: Record, *, generation: bool = False) -> list[Part]:
        system, rest = split_system(as_conversation(record, self.joiner))
        if generation and rest[-1].role == "assistant":
            rest = rest[:-1]
        out = PartWriter(self).markup(BOS, SYSTEM)
        if system is not None:
            out.text(system, SYSTEM)
        else:
            out.markup(self.system or "", SYSTEM)
        for position, message in enumerate(rest):
            if message.role == "user":
                out.markup("<｜User｜>", PROMPT).text(message.content, PROMPT)
            elif position == len(rest) - 1:
                out.markup("<｜Assistant｜><think>\n", HEADER).text(message.reasoning or "", REASONING)
                out.markup("\n</think>\n\n", REASONING).text(message.content, RESPONSE).markup(EOS, END)
            else:
                out.markup("<｜Assistant｜>", HEADER).text(message.content, RESPONSE).markup(EOS, END)
        if generation:
            out.markup("<｜Assistant｜><think>\n", HEADER)
        return out.done()

    def extract_response(self, generated: str, *, prompt: str | None = None) -> str:
        """The answer after the reasoning a model generates first."""
        return super().extract_response(generated, prompt=prompt).rpartition("</think>")[2].strip()
