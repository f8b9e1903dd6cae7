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
model writes then.

Tool calls and results are written byte for byte as the template writes them, quirks and all::

    <｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather
    ```json
    {"city": "Oslo"}
    ```<｜tool▁call▁end｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>-3<｜tool▁output▁end｜>
    <｜tool▁outputs▁end｜>-3 °C.<｜end▁of▁sentence｜>

(without the line break before ``<｜tool▁outputs▁end｜>``).

The template's state is never reset within a conversation: only its first call opens with ``<｜Assistant｜>
<｜tool▁calls▁begin｜>`` and is left unclosed; every later call (in that turn or a later one) is
``\\n<｜tool▁call▁begin｜>...<｜tool▁call▁end｜>`` closed by ``<｜tool▁calls▁end｜><｜end▁of▁sentence｜>``; only the
first tool output opens with ``<｜tool▁outputs▁begin｜>``, later ones with ``\\n``; an answer after tool
outputs opens with ``<｜tool▁outputs▁end｜>`` (its header, so the generation prompt after a tool output ends with
it) and has no think block. Arguments are written as the dataset's string of JSON, else as the object through
``tojson`` (the template needs a string). Refused, with the key named, where the template would drop record
text: declared ``tools`` (it writes no tool list: describe the tools in the system message), text beside calls
(it writes the text and drops the calls), reasoning in a call turn or in an answer after tool outputs (it
writes none there).
"""

# ruff: noqa: RUF001, RUF002  (the full-width bars are DeepSeek's real token text)

from __future__ import annotations

from types import MappingProxyType

from promptstyles import Part, PartKind, StyleError
from promptstyles.records import Message, Record
from promptstyles.styles.agent import AgentStyle, PartWriter, as_conversation, split_system

__all__ = ["TOOL_TOKENS", "DeepSeekR1Style"]

SYSTEM, PROMPT, HEADER = PartKind.SYSTEM, PartKind.PROMPT, PartKind.RESPONSE_HEADER
RESPONSE, END, REASONING = PartKind.RESPONSE, PartKind.END, PartKind.REASONING
CALL, RESULT = PartKind.TOOL_CALL, PartKind.TOOL_RESULT
BOS, EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"
CALL_OPEN = "<｜tool▁call▁begin｜>function<｜tool▁sep｜>"
OUTPUTS_END = "<｜tool▁outputs▁end｜>"
TOOL_TOKENS = ("<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>", "<｜tool▁call▁begin｜>", "<｜tool▁call▁end｜>",
               "<｜tool▁sep｜>", "<｜tool▁outputs▁begin｜>", OUTPUTS_END, "<｜tool▁output▁begin｜>",
               "<｜tool▁output▁end｜>")
"""The model's special tokens of tool markup (its tokenizer has them)."""


class DeepSeekR1Style(AgentStyle):
    name = "deepseek-r1"
    description = "DeepSeek-R1 distills: <｜User｜> ... <｜Assistant｜><think> reasoning </think> answer; tool calls"
    special_tokens = (BOS, EOS, "<｜User｜>", "<｜Assistant｜>", *TOOL_TOKENS)
    renders = frozenset({"reasoning", "tools"})
    stops = (EOS, "<｜User｜>")
    template_breaks = MappingProxyType({"stop sequences end each response": (
        "a turn of one tool call ends with <｜tool▁call▁end｜>: the template writes <｜tool▁calls▁end｜> and the end "
        "of sentence only after a second call")})

    def parts(self, record: Record, *, generation: bool = False) -> list[Part]:
        conversation = as_conversation(record, self.joiner)
        if conversation.tools:
            raise StyleError("key 'tools': style 'deepseek-r1' writes no tool list (its template has no place for "
                             "one); describe the tools in the system message and leave 'tools' out")
        system, rest = split_system(conversation)
        if generation and rest[-1].role == "assistant":
            rest = rest[:-1]
        out = PartWriter(self).markup(BOS, SYSTEM)
        if system is not None:
            out.text(system, SYSTEM)
        else:
            out.markup(self.system or "", SYSTEM)
        state = _State()
        for position, message in enumerate(rest):
            key = f"messages[{position + (system is not None)}]"
            if message.role == "user":
                out.markup("<｜User｜>", PROMPT).text(message.content, PROMPT)
                state.after_tool = False
            elif message.role == "tool":
                opening = "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>" if state.first_output else \
                    "\n<｜tool▁output▁begin｜>"
                out.markup(opening, RESULT).text(message.content, RESULT).markup("<｜tool▁output▁end｜>", RESULT)
                state.first_output, state.after_tool = False, True
            elif message.tool_calls:
                _calls(out, message, key, state)
            elif state.after_tool:
                _refuse_reasoning(message, key, "in an answer after tool outputs")
                out.markup(OUTPUTS_END, HEADER).text(message.content, RESPONSE).markup(EOS, END)
                state.after_tool = False
            elif position == len(rest) - 1:
                out.markup("<｜Assistant｜><think>\n", HEADER).text(message.reasoning or "", REASONING)
                out.markup("\n</think>\n\n", REASONING).text(message.content, RESPONSE).markup(EOS, END)
            else:
                out.markup("<｜Assistant｜>", HEADER).text(message.content, RESPONSE).markup(EOS, END)
        if state.after_tool:
            out.markup(OUTPUTS_END, HEADER if generation else RESULT)
        elif generation:
            out.markup("<｜Assistant｜><think>\n", HEADER)
        return out.done()

    def extract_response(self, generated: str, *, prompt: str | None = None) -> str:
        """The answer after the reasoning a model generates first."""
        return super().extract_response(generated, prompt=prompt).rpartition("</think>")[2].strip()


class _State:
    """The template's namespace: whether a call or a tool output was written yet, and whether the last message
    was a tool output (never reset by a new turn, as in the template)."""

    __slots__ = ("after_tool", "first_call", "first_output")

    def __init__(self) -> None:
        self.first_call, self.first_output, self.after_tool = True, True, False


def _refuse_reasoning(message: Message, key: str, where: str) -> None:
    if message.reasoning is not None:
        raise StyleError(f"key {key + '.reasoning_content'!r}: style 'deepseek-r1' writes no reasoning {where} (its "
                         "template writes none there); leave it out")


def _calls(out: PartWriter, message: Message, key: str, state: _State) -> None:
    """A call turn as the template writes it: the conversation's first call opens the calls and stays unclosed,
    every later one is closed with the calls' end and the end of sentence. Its header is the ``<｜Assistant｜>``
    of the first call, else the line break before the turn's first call."""
    if message.content:
        raise StyleError(f"key {key + '.content'!r}: style 'deepseek-r1' writes a turn's tool calls or its text, not "
                         "both (its template drops the calls when there is text); give them as two turns")
    _refuse_reasoning(message, key, "beside tool calls")
    state.after_tool = False
    for number, call in enumerate(message.tool_calls):
        if state.first_call:
            out.markup("<｜Assistant｜>", HEADER).markup("<｜tool▁calls▁begin｜>" + CALL_OPEN, CALL)
        else:
            out.markup("\n", HEADER if number == 0 else CALL).markup(CALL_OPEN, CALL)
        out.text(call.name, CALL).markup("\n```json\n", CALL).text(call.arguments_json, CALL)
        out.markup("\n```<｜tool▁call▁end｜>", CALL)
        if not state.first_call:
            out.markup("<｜tool▁calls▁end｜>" + EOS, END)
        state.first_call = False
