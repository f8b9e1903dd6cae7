"""Per-style warnings for the report: what a reader must know before trusting a style's numbers.

A style whose model never stops, leaks its markup, answers with nothing, or lost response tokens to
truncation can still rank well on the loss; each of these is said plainly, one line per finding, in a
fixed order (stops, leaks, empty answers, truncated examples) so reports read alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .ranking import number

__all__ = ["LOW_STOP_RATE", "style_warnings"]

LOW_STOP_RATE = 0.5
"""Below this share of responses ending at the style's end marker, the model is said to rarely stop."""


def _count(share: float, n: int) -> int:
    return round(share * n)


def _stops(style: str, generation: Mapping[str, Any], n: int) -> list[str]:
    rate = number(generation.get("stop_rate"))
    if rate is None or rate >= LOW_STOP_RATE:
        return []
    cut = int(generation.get("cut") or 0)
    how = "never stops" if rate == 0 else "rarely stops"
    return [f"{style}: {how}: {_count(rate, n)} of {n} responses end at its end marker; {cut} ran to"
            " max_new_tokens and were cut."]


def _leaks(style: str, generation: Mapping[str, Any], n: int) -> list[str]:
    rate = number(generation.get("leak_rate"))
    if not rate:
        return []
    markers = generation.get("leak_markers") or {}
    shown = ", ".join(f"`{marker}` {count}x" for marker, count in markers.items())
    return [f"{style}: markup leaks: {_count(rate, n)} of {n} responses hold its markup or open a new turn"
            f"{f' ({shown})' if shown else ''}."]


def style_warnings(results: Mapping[str, Any]) -> list[str]:
    """One sentence per problem per style: never or rarely stops, markup leaks, empty answers, truncation."""
    lines = []
    for style, sections in results.get("styles", {}).items():
        generation = sections.get("generation")
        if isinstance(generation, Mapping) and generation.get("n"):
            n = int(generation["n"])
            lines += _stops(style, generation, n) + _leaks(style, generation, n)
            if generation.get("empty"):
                lines.append(f"{style}: empty answers: {int(generation['empty'])} of {n} responses are empty once"
                             " the style's markup is cut away (however long the model generated).")
        static = sections.get("static")
        if isinstance(static, Mapping) and static.get("truncated"):
            lines.append(f"{style}: truncated examples: {static['truncated']} of {static.get('examples', '?')} were"
                         " cut at the maximum length, so its headline loss leaves out their cut response tokens;"
                         " raise collate.allowed_max_length for a like-for-like comparison.")
    return lines
