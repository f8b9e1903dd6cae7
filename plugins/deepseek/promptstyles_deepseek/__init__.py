"""DeepSeek prompt styles: DeepSeek LLM chat (deepseek-llm-7b-chat and 67b-chat)."""

from promptstyles import hookimpl

from .deepseek import DeepSeekStyle

__all__ = ["DeepSeekStyle", "register_styles"]


@hookimpl
def register_styles(register) -> None:
    register(DeepSeekStyle, aliases=("deepseek-llm", "deepseek-chat"))
