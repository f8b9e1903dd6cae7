"""Mistral instruct prompt styles: v0.1/v0.2, v0.3 (which drops spaces around the tags) and Nemo (with tools)."""

from promptstyles import hookimpl

from .mistral import MistralStyle
from .mistral_nemo import MistralNemoStyle
from .mistral_v03 import MistralV03Style

__all__ = ["MistralNemoStyle", "MistralStyle", "MistralV03Style", "register_styles"]


@hookimpl
def register_styles(register) -> None:
    register(MistralStyle, aliases=("mistral-v0.1", "mistral-v0.2"))
    register(MistralV03Style, aliases=("mistral-v3",))
    register(MistralNemoStyle, aliases=("mistral-nemo-2407",))
