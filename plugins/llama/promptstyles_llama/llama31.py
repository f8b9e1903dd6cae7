"""Llama-3.1 / 3.3 instruct, as the ``chat_template`` of meta-llama/Llama-3.1-8B-Instruct writes it::

    <|begin_of_text|><|start_header_id|>system<|end_header_id|>

    Cutting Knowledge Date: December 2023
    Today Date: 26 Jul 2024

    {system}<|eot_id|><|start_header_id|>user<|end_header_id|>

    {user}<|eot_id|><|start_header_id|>assistant<|end_header_id|>

    {assistant}<|eot_id|>

The system turn is always written, with the dated preamble before the (trimmed, possibly empty) system
prompt; ``system=None`` is refused, as in ``qwen2.5``. Option ``date`` is the template's ``date_string``
(a date, an ISO date string such as ``"2024-07-26"``, or ``"26 Jul 2024"`` as the template writes it); it
defaults to ``"26 Jul 2024"``, the template's own
fallback. Llama-3.3-70B-Instruct's template is the same, byte for byte. Tools, tool calls and tool results
are written as :mod:`.llama_tools` shows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from promptstyles import Part
from promptstyles.generated_calls import ParsedCall
from promptstyles.records import Conversation
from promptstyles.styles.declarative import date_text

from .llama3 import Llama3Style
from .llama_tools import llama_agent_parts, parse_llama_call

__all__ = ["Llama31Style"]


class Llama31Style(Llama3Style):
    name = "llama3.1"
    description = "Llama-3.1/3.3 instruct: Llama-3 turns with a dated system preamble"
    default_system = ""
    system_required = True
    renders = frozenset({"tools"})
    default_date: ClassVar[str | None] = "26 Jul 2024"
    """The date written when the option is not given; None for today's (the template's ``strftime_now``)."""
    fallback_date: ClassVar[str] = "26 Jul 2024"
    """What the template writes where it cannot compute today's date (a renderer without ``strftime_now``)."""

    def __init__(self, *, date: str | dt.date | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.date = date_text(self.name, self.default_date if date is None else date)

    def system_turn_prefix(self) -> str:
        return f"{self.system_prefix}Cutting Knowledge Date: December 2023\nToday Date: {self.date}\n\n"

    def agent_parts(self, record: Conversation, *, generation: bool = False) -> list[Part]:
        return llama_agent_parts(self, record, generation=generation)

    def parse_tool_calls(self, response: str) -> tuple[ParsedCall, ...] | None:
        return parse_llama_call(response)
