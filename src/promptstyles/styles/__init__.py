"""Styles: the style API, the registry, and the built-in Alpaca style (registered as a plugin)."""

from ._base import Part, PartKind, Rendered, Style
from .registry import StyleInfo, StyleRegistry, available_styles, build_registry, get_style

__all__ = [
    "Part",
    "PartKind",
    "Rendered",
    "Style",
    "StyleInfo",
    "StyleRegistry",
    "available_styles",
    "build_registry",
    "get_style",
]
