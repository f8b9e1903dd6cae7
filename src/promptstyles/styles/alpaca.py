"""The built-in Alpaca style, registered through the plugin hook like any third-party style.

Rendered format (the ``Input`` section only when the input is non-empty)::

    Below is an instruction that describes a task. Write a response that appropriately completes the request.

    ### Instruction:
    {instruction}

    ### Input:
    {input}

    ### Response:
    {output}
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..records import Conversation, InstructionRecord, Record
from ._base import Part, PartKind, Style, single_exchange

__all__ = ["AlpacaStyle", "register_styles"]

DEFAULT_PREAMBLE = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request."
)

SYSTEM = PartKind.SYSTEM
PROMPT = PartKind.PROMPT


class AlpacaStyle(Style):
    """Stanford Alpaca's prompt, as used by the reference instruction fine-tuning chapter.

    Options: ``system`` replaces the preamble sentence (a conversation's system message does too).
    """

    name = "alpaca"
    description = "Stanford Alpaca: '### Instruction:' / '### Input:' / '### Response:' sections"

    def __init__(self, *, system: str = DEFAULT_PREAMBLE) -> None:
        self.system = system

    @property
    def stop_sequences(self) -> tuple[str, ...]:
        return ("\n\n### Instruction:", "\n\n### Input:", "\n\n### Response:", "<|endoftext|>")

    def parts(self, record: Record, *, generation: bool = False) -> list[Part]:
        system = self.system
        if isinstance(record, Conversation):
            system_message, user, assistant = single_exchange(record, self.name)
            system = system_message if system_message is not None else system
            record = InstructionRecord(user.content, "", assistant.content if assistant else "")
        parts = [
            Part(system + "\n\n### Instruction:\n", SYSTEM, markup=True),
            Part(record.instruction, PROMPT),
        ]
        if record.input:
            parts += [Part("\n\n### Input:\n", PROMPT, markup=True), Part(record.input, PROMPT)]
        parts.append(Part("\n\n### Response:\n", PartKind.RESPONSE_HEADER, markup=True))
        if not generation:
            parts.append(Part(record.output, PartKind.RESPONSE))
        return parts


@hookimpl
def register_styles(register) -> None:
    register(AlpacaStyle, aliases=("stanford-alpaca",))
