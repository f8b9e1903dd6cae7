"""The ``promptstyles`` commands that take a STYLE: ``export`` and ``freeze``: their arguments,
and the STYLE argument they share with ``render`` (a name or alias, or a declarative style file)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

import yaml

from ..errors import PromptStylesError
from ..styles.declarative import is_style_file
from ..styles.registry import build_registry

__all__ = ["STYLE_HELP", "add_style_commands", "options", "style_and_info"]

Command = Callable[[argparse.Namespace], int]
STYLE_HELP = "a style name or alias, or the path of a declarative style file (.yaml or .yml)"


def options(pairs: Sequence[str]) -> dict[str, Any]:
    """``--option KEY=VALUE`` pairs as style options, each value read as YAML (``system=null``, ``bos=false``)."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise PromptStylesError(f"--option expects KEY=VALUE, got {pair!r}")
        if key in parsed:  # the last would silently win
            raise PromptStylesError(f"--option {key} is given twice; give each option once")
        parsed[key] = yaml.safe_load(value) if value else ""
    return parsed


def style_and_info(args: argparse.Namespace) -> tuple[Any, Any]:
    """The STYLE argument built with its options, and its registration (None for a style file)."""
    registry = build_registry(tuple(args.plugin))
    registry.require(args.plugin, key=None)
    style = registry.get(args.style, **options(args.option))
    return style, None if is_style_file(args.style) else registry.info(args.style)


def add_style_commands(commands: Any, *, export: Command, freeze: Command) -> None:
    """Add the ``export`` and ``freeze`` commands, run by these functions, to the ``commands`` subparsers."""
    exporting = commands.add_parser("export", help="print a style as a Hugging Face chat_template (jinja)")
    exporting.add_argument("style", help=STYLE_HELP)
    exporting.add_argument("--format", choices=("jinja",), default="jinja", help="output format (default jinja)")
    exporting.add_argument("--generation-tags", action="store_true",
                        help="wrap what the assistant mask trains in {%% generation %%} blocks")
    exporting.add_argument("--into", metavar="TOKENIZER_CONFIG",
                        help="set chat_template in this tokenizer_config.json instead of printing it")
    exporting.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="a style option")
    exporting.add_argument("--plugin", action="append", default=[], metavar="MODULE", help="also load this module")
    exporting.set_defaults(run=export)

    freezing = commands.add_parser("freeze", help="print a style resolved, as a YAML file style: {file: ...} reloads")
    freezing.add_argument("style", help=STYLE_HELP)
    freezing.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="a style option")
    freezing.add_argument("--plugin", action="append", default=[], metavar="MODULE", help="also load this module")
    freezing.set_defaults(run=freeze)

