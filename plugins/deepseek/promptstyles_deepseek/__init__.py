"""DeepSeek prompt styles: DeepSeek LLM chat (deepseek-llm-7b-chat and 67b-chat) and DeepSeek-R1 (its distills)."""

from promptstyles import hookimpl

from .deepseek import DeepSeekStyle
from .deepseek_r1 import DeepSeekR1Style

__all__ = ["DeepSeekR1Style", "DeepSeekStyle", "register_styles"]


@hookimpl
def register_styles(register) -> None:
    register(DeepSeekStyle, aliases=("deepseek-llm", "deepseek-chat"))
    register(DeepSeekR1Style, aliases=("deepseek-r1-distill",))
