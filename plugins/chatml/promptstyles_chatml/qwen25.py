"""Qwen2.5 instruct: Qwen2's format (see :mod:`.qwen2`) with Qwen's own default system prompt::

    <|im_start|>system
    You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>

``system=""`` writes an empty system turn, as the template does for an empty system message; there is no
way to leave the turn out.
"""

from .qwen2 import Qwen2Style

__all__ = ["Qwen25Style"]


class Qwen25Style(Qwen2Style):
    name = "qwen2.5"
    description = "Qwen2.5 instruct: ChatML with Qwen's default system prompt"
    default_system = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
