"""Gemma prompt styles: Gemma / Gemma-2 instruct (no system role) and Gemma-3 (system folded into the user turn)."""

from promptstyles import hookimpl

from .gemma import GemmaStyle
from .gemma3 import Gemma3Style

__all__ = ["Gemma3Style", "GemmaStyle", "register_styles"]


@hookimpl
def register_styles(register) -> None:
    register(GemmaStyle, aliases=("gemma2", "gemma-2"))
    register(Gemma3Style, aliases=("gemma-3",))
