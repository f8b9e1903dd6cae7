"""Cohere prompt styles: Command-R (c4ai-command-r-v01 and -plus, default template)."""

from promptstyles import hookimpl

from .command_r import CommandRStyle

__all__ = ["CommandRStyle", "register_styles"]


@hookimpl
def register_styles(register) -> None:
    register(CommandRStyle, aliases=("command-r-plus", "commandr"))
