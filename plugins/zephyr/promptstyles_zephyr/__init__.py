"""Zephyr-format prompt styles: Zephyr-7B-beta and TinyLlama-1.1B-Chat (which uses Zephyr's template)."""

from promptstyles import hookimpl

from .tinyllama import TinyLlamaStyle
from .zephyr import ZephyrStyle

__all__ = ["TinyLlamaStyle", "ZephyrStyle", "register_styles"]


@hookimpl
def register_styles(register) -> None:
    register(ZephyrStyle, aliases=("zephyr-7b-beta",))
    register(TinyLlamaStyle, aliases=("tinyllama-chat",))
