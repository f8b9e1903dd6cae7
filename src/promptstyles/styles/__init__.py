"""Styles: the style API, the chat-style base class, the registry, and the built-in Alpaca style."""

from ._base import Part, PartKind, Rendered, Style
from .chat import ChatStyle, Turn
from .registry import StyleInfo, StyleRegistry, available_styles, build_registry, get_style

__all__ = [
    "ChatStyle",
    "Part",
    "PartKind",
    "Rendered",
    "Style",
    "StyleInfo",
    "StyleRegistry",
    "Turn",
    "available_styles",
    "build_registry",
    "get_style",
]
