"""Llama-3.1 / 3.3 instruct, as the ``chat_template`` of meta-llama/Llama-3.1-8B-Instruct writes it::

    <|begin_of_text|><|start_header_id|>system<|end_header_id|>

    Cutting Knowledge Date: December 2023
    Today Date: 26 Jul 2024

    {system}<|eot_id|><|start_header_id|>user<|end_header_id|>

    {user}<|eot_id|><|start_header_id|>assistant<|end_header_id|>

    {assistant}<|eot_id|>

The system turn is always written, with the dated preamble before the (trimmed, possibly empty) system
prompt; ``system=None`` is refused, as in ``qwen2.5``. Option ``date`` is the template's ``date_string``
(a string such as ``"26 Jul 2024"``, or a date); it defaults to ``"26 Jul 2024"``, the template's own
fallback. Llama-3.3-70B-Instruct's template is the same, byte for byte.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from promptstyles import StyleError

from .llama3 import Llama3Style

__all__ = ["Llama31Style", "date_text"]

DATE_FORMAT = "%d %b %Y"
"""How the templates write a date (``strftime_now("%d %b %Y")``): ``26 Jul 2024``."""


def date_text(style: str, date: Any) -> str:
    """The ``date`` option as the template writes it; a YAML date (``2024-07-26``) is formatted."""
    if isinstance(date, dt.date):
        return date.strftime(DATE_FORMAT)
    if not isinstance(date, str) or not date.strip() or "\n" in date:
        raise StyleError(f"style {style!r}: option 'date' must be a one-line string such as '26 Jul 2024' "
                         f"or a date, got {date!r}")
    return date


class Llama31Style(Llama3Style):
    name = "llama3.1"
    description = "Llama-3.1/3.3 instruct: Llama-3 turns with a dated system preamble"
    default_system = ""
    system_required = True
    default_date: ClassVar[str | None] = "26 Jul 2024"
    """The date written when the option is not given; None for today's (the template's ``strftime_now``)."""

    def __init__(self, *, date: str | dt.date | None = None, **options: Any) -> None:
        super().__init__(**options)
        if date is None:
            date = self.default_date or dt.datetime.now().strftime(DATE_FORMAT)
        self.date = date_text(self.name, date)

    def system_turn_prefix(self) -> str:
        return f"{self.system_prefix}Cutting Knowledge Date: December 2023\nToday Date: {self.date}\n\n"
