"""Llama prompt styles: Llama-2 chat and Llama-3 instruct."""

from promptstyles import hookimpl

from .llama2 import Llama2Style
from .llama3 import Llama3Style

__all__ = ["Llama2Style", "Llama3Style", "register_styles"]


@hookimpl
def register_styles(register) -> None:
    register(Llama2Style, aliases=("llama-2",))
    register(Llama3Style, aliases=("llama-3",))
