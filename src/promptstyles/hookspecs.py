"""Hook specifications: the contract between promptstyles and its plugins.

A plugin is a module with functions marked ``@hookimpl``, found through the ``promptstyles`` entry-point
group. Example::

    from promptstyles import Style, hookimpl

    class MyStyle(Style):
        name = "mystyle"
        ...

    @hookimpl
    def register_styles(register):
        register(MyStyle, aliases=("my-style",))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

__all__ = ["PROJECT", "hookimpl", "hookspec", "register_styles", "register_tokenizers"]

PROJECT = "promptstyles"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_styles(register: Callable[..., Any]) -> None:
    """Register the plugin's styles by calling ``register(style_class, aliases=(...))`` once per style.

    ``style_class`` is a :class:`promptstyles.Style` subclass; its ``name`` and each alias must be
    lowercase and unclaimed by any other plugin.
    """


@hookspec
def register_tokenizers(register: Callable[..., Any]) -> None:
    """Register the plugin's tokenizers by calling ``register(name, factory, description)`` once per tokenizer.

    ``factory(special_tokens=(...), path=...)`` returns a :class:`promptstyles.data.tokenizers.Tokenizer`;
    ``special_tokens`` are a style's markup tokens (to add where the tokenizer can), and ``path`` is given
    only when the user named a folder or file. Example (the built-in tiktoken plugin)::

        @hookimpl
        def register_tokenizers(register):
            register("cl100k_base", functools.partial(tiktoken_tokenizer, "cl100k_base"), "tiktoken cl100k_base")
    """
