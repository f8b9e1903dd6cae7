"""Rendering records into parts for the encoder: the style's output, checked, with its runs measured.

A style's failure on a record becomes a :class:`RecordError` naming the record, the style and the plugin
that provides it, wherever rendering happens (dataset builds, generation prompts, worker processes).
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from ...errors import RecordError, StyleError
from ...records import Conversation, Record
from ...styles._base import Part, Style, final_turn_only
from ...styles._renders import refuse_unrenderable
from ..masks import HEADER, KIND_CODES

__all__ = ["RenderedChunk", "gc_paused", "render_chunk", "render_parts"]

logger = logging.getLogger(__name__)


def _style_origin(style: Style) -> str:
    """The plugin that registered the style's class, or (not registered) the module that defines it."""
    cls = type(style)
    try:
        from ...styles.registry import default_registry

        for info in default_registry().infos():
            if info.style is cls:
                return f"plugin {info.plugin!r}" + (f" ({info.distribution})" if info.distribution else "")
    except Exception:  # naming the culprit must never hide the error being reported
        logger.debug("cannot look up the plugin of %s", cls, exc_info=True)
    return f"module {cls.__module__!r}"


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a chunk's objects are built, and back on after (unless it was
    off already). Rendering allocates a few containers per part and keeps them, so the collector would run
    every few hundred records and each time walk objects that hold no cycles: on a chunk of records it took a
    quarter of Llama-3's rendering time and over half of Alpaca's. Reference counting still frees everything
    that is dropped; a cycle made meanwhile waits for the collector's next run."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def render_parts(style: Style, record: Record, *, index: int | None = None, source: str | None = None,
                 generation: bool = False) -> list[Part]:
    """``style.parts(record)``; any failure becomes a :class:`RecordError` naming the record, style and plugin."""
    try:
        refuse_unrenderable(style, record, Style)
        parts = style.parts(record, generation=generation)
        return parts if generation else final_turn_only(parts, record)
    except Exception as error:
        cause = str(error) if isinstance(error, StyleError) else f"{type(error).__name__}: {error}"
        hint = ""
        if isinstance(record, Conversation) and not style.supports_conversations:
            hint = (f"; style {style.name!r} is instruction-only (supports_conversations is False): give it "
                    "instruction records, or pick a style that renders conversations")
        raise RecordError(f"style {style.name!r} from {_style_origin(style)} cannot render it: {cause}{hint}",
                          index=index, source=source) from error


class RenderedChunk(NamedTuple):
    """A chunk of records rendered: each record's parts, and per run (stretch of one part kind) its kind code
    and end in UTF-8 bytes, the runs per record and each record's text bytes."""

    parts: list[list[Part]]
    run_kinds: list[int]
    run_ends: list[int]
    run_counts: list[int]
    text_bytes: list[int]


def render_chunk(style: Style, records: Sequence[Record], first_index: int, source: str | None) -> RenderedChunk:
    """Render a chunk of records; a record a style cannot render, or renders without a response, is an error."""
    rendered: list[list[Part]] = []
    run_kinds: list[int] = []
    run_ends: list[int] = []
    run_counts: list[int] = []
    text_bytes: list[int] = []
    codes = KIND_CODES
    with gc_paused():
        for offset, record in enumerate(records):
            parts = render_parts(style, record, index=first_index + offset, source=source)
            position = 0
            previous = -1
            count = 0
            has_header = False
            for part in parts:
                code = codes[part.kind]
                text = part.text
                position += len(text) if text.isascii() else len(text.encode("utf-8"))
                if code == previous:
                    run_ends[-1] = position
                else:
                    run_kinds.append(code)
                    run_ends.append(position)
                    previous = code
                    count += 1
                has_header = has_header or code == HEADER
            if not has_header:
                raise RecordError(f"style {style.name!r} rendered no assistant response to train on",
                                  index=first_index + offset, source=source)
            rendered.append(parts)
            run_counts.append(count)
            text_bytes.append(position)
    return RenderedChunk(rendered, run_kinds, run_ends, run_counts, text_bytes)
