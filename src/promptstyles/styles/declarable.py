"""Whether a style can be written as a declaration: its rendering must be :class:`ChatStyle`'s own markup."""

from __future__ import annotations

from ._base import Style
from .chat import ChatStyle

__all__ = ["DECLARABLE_HOOKS", "undeclarable"]

DECLARABLE_HOOKS = ("system_turn_prefix", "user_turn_prefix", "__init__", "stop_sequences", "resolved_options")
"""Methods a chat style may override and still be declared: their results are read off the instance."""
_RENDERING = ("parts", "user_parts", "content", "text", "turns", "check_order")


def undeclarable(style: Style) -> str | None:
    """Why ``style`` cannot be written as a declaration, or None when it can."""
    if not isinstance(style, ChatStyle):
        return f"style {style.name!r} is not a chat style (it renders with its own Python, not ChatStyle's markup)"
    overridden = [name for name in _RENDERING if getattr(type(style), name) is not getattr(ChatStyle, name)]
    if overridden:
        return f"style {style.name!r} overrides ChatStyle.{overridden[0]}, which a declaration cannot express"
    return None
