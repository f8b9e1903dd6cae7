"""ChatML prompt styles: generic ChatML and Qwen2.5 (ChatML with Qwen's default system prompt)."""

from promptstyles import hookimpl

from .chatml import ChatMLStyle
from .qwen25 import Qwen25Style

__all__ = ["ChatMLStyle", "Qwen25Style", "register_styles"]


@hookimpl
def register_styles(register) -> None:
    register(ChatMLStyle, aliases=("im_start",))
    register(Qwen25Style, aliases=("qwen-2.5", "qwen25"))
