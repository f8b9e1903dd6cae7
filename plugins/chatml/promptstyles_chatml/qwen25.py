"""Qwen2.5 instruct: ChatML whose official template always writes a system turn, by default::

    <|im_start|>system
    You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>

``system=""`` writes an empty system turn, as the template does for an empty system message; there is no
way to leave the turn out.
"""

from .chatml import ChatMLStyle

__all__ = ["Qwen25Style"]


class Qwen25Style(ChatMLStyle):
    name = "qwen2.5"
    description = "Qwen2.5 instruct: ChatML with Qwen's default system prompt"
    default_system = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
    system_required = True
