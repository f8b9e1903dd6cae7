"""Gemma-3 instruct: Gemma's turns, with a system prompt folded into the first user turn::

    <bos><start_of_turn>user
    {system}

    {user}<end_of_turn>
    <start_of_turn>model
    {assistant}<end_of_turn>

The system text is written as given, the message text trimmed (as google/gemma-3's template does).
"""

from .gemma import GemmaStyle

__all__ = ["Gemma3Style"]


class Gemma3Style(GemmaStyle):
    name = "gemma3"
    description = "Gemma-3 instruct: Gemma turns, system prompt folded into the first user turn"
    system_turn = "first_user"
