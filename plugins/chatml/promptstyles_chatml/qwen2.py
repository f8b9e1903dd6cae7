"""Qwen2 instruct: ChatML whose official template always writes a system turn, by default::

    <|im_start|>system
    You are a helpful assistant.<|im_end|>

as the ``chat_template`` of Qwen/Qwen2-7B-Instruct does. ``system=""`` writes an empty system turn, as
the template does for an empty system message; there is no way to leave the turn out.
"""

from .chatml import ChatMLStyle

__all__ = ["Qwen2Style"]


class Qwen2Style(ChatMLStyle):
    name = "qwen2"
    description = "Qwen2 instruct: ChatML with the default system prompt 'You are a helpful assistant.'"
    default_system = "You are a helpful assistant."
    system_required = True
