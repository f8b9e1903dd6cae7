"""Llama-3.2 instruct (1B and 3B), as the ``chat_template`` of meta-llama/Llama-3.2-3B-Instruct writes it.

The format is Llama-3.1's (see :mod:`.llama31`); only the default date differs: the template stamps
today's date (``strftime_now("%d %b %Y")``, as transformers renders it) when no ``date_string`` is
given, and so does this style, taken once when the style is built so that one dataset has one date.
Pass ``date`` for data that does not change from day to day. Exported (``promptstyles export``), the style's
template computes the date when it renders, as the official one does.
"""

from .llama31 import Llama31Style

__all__ = ["Llama32Style"]


class Llama32Style(Llama31Style):
    name = "llama3.2"
    description = "Llama-3.2 instruct: Llama-3.1's format, dated today unless 'date' is given"
    default_date = None
