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
_INPUT_HEADER = Part("\n\n### Input:\n", PROMPT, markup=True)
_RESPONSE_HEADER = Part("\n\n### Response:\n", PartKind.RESPONSE_HEADER, markup=True)


class AlpacaStyle(Style):
    """Stanford Alpaca's prompt, as used by the reference instruction fine-tuning chapter.

    Options: ``system`` replaces the preamble sentence (a conversation's system message does too).
    """

    name = "alpaca"
    description = "Stanford Alpaca: '### Instruction:' / '### Input:' / '### Response:' sections"

    def __init__(self, *, system: str = DEFAULT_PREAMBLE) -> None:
        self.system = system
        self._opening = Part(system + "\n\n### Instruction:\n", SYSTEM, markup=True)

    @property
    def stop_sequences(self) -> tuple[str, ...]:
        return ("\n\n### Instruction:", "\n\n### Input:", "\n\n### Response:", "<|endoftext|>")

    def parts(self, record: Record, *, generation: bool = False) -> list[Part]:
        opening = self._opening
        if isinstance(record, Conversation):
            system_message, user, assistant = single_exchange(record, self.name)
            if system_message is not None:
                opening = Part(system_message + "\n\n### Instruction:\n", SYSTEM, markup=True)
            record = InstructionRecord(user.content, "", assistant.content if assistant else "")
        parts = [opening, Part(record.instruction, PROMPT)]
        if record.input:
            parts += [_INPUT_HEADER, Part(record.input, PROMPT)]
        parts.append(_RESPONSE_HEADER)
        if not generation:
            parts.append(Part(record.output, PartKind.RESPONSE))
        return parts


@hookimpl
def register_styles(register) -> None:
    register(AlpacaStyle, aliases=("stanford-alpaca",))
