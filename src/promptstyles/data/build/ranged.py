"""Tokenizing byte ranges of JSONL files: workers read, parse and encode their own ranges; the driver merges.

:func:`encode_range` is a worker's whole job for one range (:mod:`~..sources.ranges`): read its bytes, parse
and validate the records, render and encode them. It is pure (a range in, arrays out), so a retried range
gives the same result. A worker cannot know how many lines and records come before its range, so it sends
back counts instead of messages: the driver, which takes results in plan order, knows them, and where a range
failed or skipped records it reads that one range again with the right numbers, so errors and the skipped
list are exactly the local build's (:func:`merge_ranges`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ...errors import DataError, PromptStylesError
from ...styles._base import Style
from ..modes import SpecialTokensMode
from ..sources.chunks import check_count
from ..sources.ranges import ByteRange, read_range
from ..tokenizers.protocol import Tokenizer
from .encoding import ChunkArrays, encode_chunk

__all__ = ["MergedRange", "RangeResult", "encode_range", "merge_ranges"]

logger = logging.getLogger(__name__)


class RangeResult(NamedTuple):
    """What a worker sends back for a range: its tokens (None when it holds no valid record or failed), each
    record's line offset in its file, the range's lines (blank ones too), its records (invalid ones too), how
    many were skipped, and, when the worker could not encode it, why."""

    arrays: ChunkArrays | None
    offsets: np.ndarray
    lines: int
    records: int
    skipped: int
    error: str | None = None


def encode_range(byte_range: ByteRange, style: Style, tokenizer: Tokenizer, *, special_tokens: SpecialTokensMode,
                 fields: Mapping[str, str] | None, on_invalid: str) -> RangeResult:
    """Read, parse and encode one range (see the module docstring); a bad record is reported, not raised."""
    try:
        lines, physical = read_range(byte_range)
        records, offsets, skipped = lines.parse(fields, on_invalid)
        arrays = encode_chunk(records, style, tokenizer, special_tokens=special_tokens) if records else None
    except PromptStylesError as error:
        return RangeResult(None, np.zeros(0, np.int64), 0, 0, 0, f"{type(error).__name__}: {error}")
    return RangeResult(arrays, np.asarray(offsets, dtype=np.int64), physical, len(lines.texts), len(skipped))


class MergedRange(NamedTuple):
    """A range's tokens as the store takes them: records' line offsets and files, and bytes read so far."""

    arrays: ChunkArrays
    offsets: np.ndarray
    files: np.ndarray
    bytes_read: int


@dataclass
class _Position:
    """Where the merge is: lines and records before the next range in its file, and records of earlier files."""

    file: int = -1
    lines: int = 0
    records: int = 0
    before_file: int = 0
    encoded: int = 0
    skipped_in_file: list[tuple[int, str]] = field(default_factory=list)


def merge_ranges(
    results: Iterable[tuple[ByteRange, RangeResult]],
    paths: Sequence[str],
    style: Style,
    tokenizer: Tokenizer,
    *,
    special_tokens: SpecialTokensMode,
    fields: Mapping[str, str] | None,
    on_invalid: str,
    source: str,
    skipped: list[tuple[int, str]],
) -> Iterator[MergedRange]:
    """The ranges' tokens in plan order, ``results`` given in plan order. Errors are the local build's; records
    skipped are appended to ``skipped`` numbered in the whole input, as the local build numbers them; ``source``
    names the input in an error of a record that cannot be encoded, as the local build's ``source`` does."""
    at = _Position()
    done = 0  # bytes of the files before the current one
    for byte_range, result in results:
        while at.file < byte_range.file:
            done = _next_file(at, paths, done)
        if result.error is not None or result.skipped:
            _read_again(byte_range, result, at, style, tokenizer, special_tokens, fields, on_invalid, source, skipped)
        at.lines += result.lines
        at.records += result.records
        if result.arrays is not None:
            at.encoded += len(result.offsets)
            files = np.full(len(result.offsets), byte_range.file, dtype=np.int32)
            yield MergedRange(result.arrays, result.offsets, files, done + byte_range.end)
    while at.file < len(paths):  # the last file, and any empty ones after the last range
        done = _next_file(at, paths, done)


def _next_file(at: _Position, paths: Sequence[str], done: int) -> int:
    """Close the current file (it must have held a valid record) and open the next; bytes before it."""
    if at.file >= 0:
        check_count(paths[at.file], at.records, at.skipped_in_file)
        done += os.stat(paths[at.file]).st_size
    at.file += 1
    at.before_file += at.records
    at.lines = at.records = 0
    at.skipped_in_file = []
    return done


def _read_again(byte_range: ByteRange, result: RangeResult, at: _Position, style: Style, tokenizer: Tokenizer,
                special_tokens: SpecialTokensMode, fields: Mapping[str, str] | None, on_invalid: str, source: str,
                skipped: list[tuple[int, str]]) -> None:
    """Read a range here with its true line and record numbers: raise what the local build raises for it, or
    record what it skipped."""
    lines, _ = read_range(byte_range, at.lines + 1, at.records)
    records, _, skipped_here = lines.parse(fields, on_invalid)
    if result.error is not None:
        encode_chunk(records, style, tokenizer, special_tokens=special_tokens, first_index=at.encoded, source=source)
        raise DataError(f"{byte_range.path}: bytes {byte_range.start}-{byte_range.end}: a worker could not encode "
                        f"them ({result.error}), though they encode here; check that every node has the same "
                        "versions of promptstyles, its plugins and the tokenizer")
    for _, reason in skipped_here:
        logger.warning("skipping %s: %s", byte_range.path, reason)
    at.skipped_in_file += skipped_here
    skipped += [(at.before_file + index, reason) for index, reason in skipped_here]
