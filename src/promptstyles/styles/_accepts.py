"""Which options a style takes, read from its constructor, so a ``style_options`` typo lists the right ones."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from typing import Any

from ..errors import StyleError

__all__ = ["accepted_options", "check_options"]

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def accepted_options(style: type) -> tuple[str, ...] | None:
    """The keyword options ``style``'s constructor takes, in order; None when it takes any (``**kwargs``)."""
    init = style.__init__  # type: ignore[misc]
    if init is object.__init__:
        return ()
    try:
        parameters = list(inspect.signature(init).parameters.values())[1:]  # without self
    except (TypeError, ValueError):  # a constructor inspect cannot read: let the call decide
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return tuple(p.name for p in parameters if p.kind in _NAMED)


def check_options(name: str, style: type, options: Mapping[str, Any]) -> None:
    """Refuse options the style does not take, naming them, the ones it does, and the closest match."""
    accepted = accepted_options(style)
    if accepted is None:
        return
    unknown = [key for key in options if key not in accepted]
    if not unknown:
        return
    listed = ", ".join(repr(key) for key in unknown)
    message = f"style {name!r} has no option{'s' if len(unknown) > 1 else ''} {listed}; "
    message += f"it accepts: {', '.join(accepted)}" if accepted else "it takes no options"
    close = [match for key in unknown for match in difflib.get_close_matches(key, accepted, n=1, cutoff=0.6)]
    if close:
        message += f"; did you mean {', '.join(repr(match) for match in close)}?"
    raise StyleError(message)
