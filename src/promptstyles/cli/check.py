"""The ``promptstyles check`` command: its arguments, and the report it prints of a :class:`CheckResult`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ..data.modes import MASK_MODES
from .styles import STYLE_HELP, style_and_info

__all__ = ["add_check_command"]


def _shown(text: str) -> str:
    """Text on one line: backslashes, newlines, tabs and carriage returns escaped."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


_SHOWN = 5


def _some(names: Sequence[str]) -> str:
    """The first few names, and how many more there are."""
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more


def _print_check(result: Any) -> None:
    tokenizer = f"tokenizer {result.tokenizer}" if result.tokenizer else "text only"
    print(f"check {result.style!r} against the chat template of {result.template} ({tokenizer}, mask {result.mask})")
    differ = [case.name for case in result.cases if case.status == "differ"]
    if differ:
        print(f"differ: {_some(differ)}")
    for case in result.cases:
        if case.status == "known deviation":
            print(f"known deviation in {case.name!r}: {case.reason}")
    first = next((case for case in result.cases if case.status == "differ"), None)
    if first is not None and first.reason:
        print(f"first difference in {first.name!r}: {' '.join(first.reason.split())}")
    if first is not None and first.text is not None:
        text = first.text
        print(f"first difference in {first.name!r}, at character {text.position}:")
        for side, rest in (("style", text.style), ("template", text.template)):
            print(f"  {side + ':':<10}{_shown(text.before + rest)}")
        print(" " * (12 + len(_shown(text.before))) + "^")
    if first is not None and first.ids is not None:
        ids = first.ids
        print(f"first different id in {first.name!r}, at token {ids.position}:")
        for side, shown in (("style", ids.style), ("template", ids.template)):
            tokens = [(">" if ids.start + offset == ids.position else "") + f"{token_id} {text!r}"
                      for offset, (token_id, text) in enumerate(shown)]
            print(f"  {side + ':':<10}" + "  ".join(tokens))
    seams = [f"{case.name} (token {case.seam})" for case in result.cases if case.seam is not None]
    if seams:
        print(f"seam merges in {len(seams)} case{'s' if len(seams) > 1 else ''} (parts encoded one by one give other "
              f"ids than the whole text, which is what is trained): {_some(seams)}")
    for case in result.cases:
        if case.untrained_ends:
            turns = ", ".join(map(str, case.untrained_ends))
            print(f"untrained end marker in {case.name!r}: assistant turn {turns} is not trained to stop under "
                  f"mask {result.mask!r}")
    print(f"{len(result.cases)} cases, {result.count('agree')} agree, {result.count('differ')} differ, "
          f"{result.count('known deviation')} known deviations")


def cmd_check(args: argparse.Namespace) -> int:
    from ..check import check_style

    style, _ = style_and_info(args)
    records: Sequence[Any] = ()
    if args.data is not None:
        from ..data.sources.loading import load_records

        records = load_records(args.data).records
    from ..data.tokenizers.registry import load_tokenizer

    tokenizer = load_tokenizer(path=args.tokenizer, special_tokens=style.special_tokens, plugins=args.plugin)
    result = check_style(style, args.tokenizer, tokenizer=tokenizer, records=records, mask=args.mask)
    _print_check(result)
    return 0 if result.ok else 1


def add_check_command(commands: Any) -> None:
    """Add ``check`` to the ``commands`` subparsers."""
    check = commands.add_parser("check", help="compare a style with a model's own chat template, as text and ids")
    check.add_argument("style", help=STYLE_HELP)
    check.add_argument("--tokenizer", required=True, metavar="PATH",
                       help="the model's tokenizer folder (tokenizer.json, tokenizer_config.json with chat_template)")
    check.add_argument("--data", metavar="FILE", help="also check these records (JSON or JSONL)")
    check.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="a style option")
    check.add_argument("--mask", choices=MASK_MODES, default="assistant", help="the mask whose end markers to check")
    check.add_argument("--plugin", action="append", default=[], metavar="MODULE", help="also load this module")
    check.set_defaults(run=cmd_check)
