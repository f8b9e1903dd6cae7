"""OpenAI harmony prompt styles: gpt-oss."""

from promptstyles import hookimpl

from .gpt_oss import GptOssStyle

__all__ = ["GptOssStyle", "register_styles"]


@hookimpl
def register_styles(register) -> None:
    register(GptOssStyle, aliases=("harmony",))
