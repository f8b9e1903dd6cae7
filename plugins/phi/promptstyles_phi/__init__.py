"""Phi prompt styles: Phi-3 / Phi-3.5 mini instruct, the reference exercise's Phi-3 variant, and Phi-4."""

from promptstyles import hookimpl

from .phi3 import Phi3Style
from .phi3_exercise import Phi3ExerciseStyle
from .phi4 import Phi4Style

__all__ = ["Phi3ExerciseStyle", "Phi3Style", "Phi4Style", "register_styles"]


@hookimpl
def register_styles(register) -> None:
    register(Phi3Style, aliases=("phi-3", "phi3.5", "phi-3.5"))
    register(Phi3ExerciseStyle)
    register(Phi4Style, aliases=("phi-4",))
