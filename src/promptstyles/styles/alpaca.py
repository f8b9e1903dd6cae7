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
from .chat import ChatStyle
from .declarative import AssistantMarkup, DeclarativeStyle, TurnMarkup, build_declarative_style

__all__ = ["AlpacaStyle", "register_styles"]

DEFAULT_PREAMBLE = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request."
)

SYSTEM = PartKind.SYSTEM
PROMPT = PartKind.PROMPT
_OPENING_END = "\n\n### Instruction:\n"
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
        self._opening = Part(system + _OPENING_END, SYSTEM, markup=True)

    @property
    def stop_sequences(self) -> tuple[str, ...]:
        return ("\n\n### Instruction:", "\n\n### Input:", "\n\n### Response:", "<|endoftext|>")

    def as_chat_style(self) -> ChatStyle:
        """The same text as a chat style (the input joined by its header), from which a chat template is made;
        the preamble is then a system prompt a conversation's system message replaces."""
        declaration = DeclarativeStyle(
            name=self.name, description=self.description, system=TurnMarkup(suffix=_OPENING_END),
            assistant=AssistantMarkup(header=_RESPONSE_HEADER.text), system_required=True, one_exchange=True,
            conversations=False, stop=self.stop_sequences,
            options={"system": self.system, "joiner": _INPUT_HEADER.text},
        )
        return build_declarative_style(declaration)

    def parts(self, record: Record, *, generation: bool = False) -> list[Part]:
        opening = self._opening
        if isinstance(record, Conversation):
            system_message, user, assistant = single_exchange(record, self.name)
            if system_message is not None:
                opening = Part(system_message + _OPENING_END, SYSTEM, markup=True)
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
