"""Llama prompt styles: Llama-2 chat, Llama-3 instruct, and Llama-3.1/3.3 and 3.2 with their dated preamble."""

from promptstyles import hookimpl

from .llama2 import Llama2Style
from .llama3 import Llama3Style
from .llama31 import Llama31Style
from .llama32 import Llama32Style

__all__ = ["Llama2Style", "Llama31Style", "Llama32Style", "Llama3Style", "register_styles"]


@hookimpl
def register_styles(register) -> None:
    register(Llama2Style, aliases=("llama-2",))
    register(Llama3Style, aliases=("llama-3",))
    register(Llama31Style, aliases=("llama-3.1", "llama3.3", "llama-3.3"))
    register(Llama32Style, aliases=("llama-3.2",))
