"""The Vicuna v1.1 prompt style."""

from promptstyles import hookimpl

from .vicuna import VicunaStyle

__all__ = ["VicunaStyle", "register_styles"]


@hookimpl
def register_styles(register) -> None:
    register(VicunaStyle, aliases=("vicuna-v1.1", "vicuna_v1.1"))
