"""Line-aligned byte ranges of JSONL files (and row groups of Parquet files): a plan of work fixed by the input
alone, and the lines (or rows) of a range.

A cluster build splits each file into ranges of about ``range_bytes`` that begin at line starts, and each worker
reads its own ranges, so no process reads the whole corpus. A boundary is the first line start at or after a
multiple of ``range_bytes``: it depends on the file alone, never on the number of workers, so an input always
gives the same ranges. Only a few bytes around each boundary are read to plan.

A worker does not know how many lines come before its range, so it numbers them from the range's start; the
process that merges ranges in order does know, and reads a range again with the right numbers when a message
must name a line (a bad record, a skipped one). A Parquet file's ranges are its row groups, whose first row
numbers its metadata gives (:mod:`.parquet`).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .jsonl_chunks import Lines, numbered_lines
from .loading import _open
from .parquet import Rows, is_parquet, read_row_group, row_group_span, row_groups

__all__ = ["RANGE_BYTES", "ByteRange", "plan_ranges", "range_bytes_of", "read_range"]

RANGE_BYTES = 2 << 20
"""Bytes per range unless a config says otherwise: about 14,000 short instruction records, a second of one
core's work; enough ranges that the workers finish together, few enough that Ray's cost per range is small."""


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``end`` (exclusive) of the input's ``file``-th file, whole lines: ``path`` as the input
    names it (for messages), ``location`` absolute (a worker may run in another folder). For a Parquet file,
    row group ``group`` (-1: none), holding rows ``start`` to ``end``."""

    file: int
    path: str
    location: str
    start: int
    end: int
    group: int = -1


def plan_ranges(paths: Sequence[str | os.PathLike[str]], range_bytes: int, format: str = "auto",
                ) -> list[ByteRange]:
    """The ranges of every file, in reading order; an empty file has none."""
    if range_bytes < 1:
        raise ValueError(f"range_bytes must be at least 1, got {range_bytes}")
    ranges: list[ByteRange] = []
    for number, path in enumerate(paths):
        location = str(Path(path).expanduser().resolve())
        if is_parquet(path, format):
            starts = [0, *itertools.accumulate(row_groups(location))]
            ranges += [ByteRange(number, str(path), location, start, end, group)
                       for group, (start, end) in enumerate(itertools.pairwise(starts)) if end > start]
            continue
        size = os.stat(location).st_size
        bounds = [0]
        with _open(location) as handle:
            target = range_bytes
            while target < size:
                handle.seek(target - 1)
                handle.readline()  # to the end of the line that holds byte target - 1
                position = handle.tell()
                if position >= size:
                    break
                bounds.append(position)
                target = (position // range_bytes + 1) * range_bytes
        bounds.append(size)
        ranges += [ByteRange(number, str(path), location, start, end)
                   for start, end in itertools.pairwise(bounds) if end > start]
    return ranges


def read_range(byte_range: ByteRange, first_line: int = 1, first_index: int = 0) -> tuple[Lines | Rows, int]:
    """The non-blank lines of ``byte_range`` (the first numbered ``first_line``, the first record
    ``first_index``), and how many lines the range holds, blank ones included; a row group's rows (numbered by
    the file) and how many."""
    if byte_range.group >= 0:
        rows = read_row_group(byte_range.location, byte_range.group)
        return Rows(byte_range.path, rows, byte_range.start), len(rows)
    with _open(byte_range.location) as handle:
        handle.seek(byte_range.start)
        data = handle.read(byte_range.end - byte_range.start)
    raw = data.splitlines(keepends=True) if b"\r" not in data else _split_at_newlines(data)
    texts: list[str] = []
    numbers: list[int] = []
    starts: list[int] = []
    for text, number, start, _ in numbered_lines(byte_range.path, raw, byte_range.start, first_line):
        texts.append(text)
        numbers.append(number)
        starts.append(start)
    return Lines(byte_range.path, texts, numbers, starts, first_index, byte_range.end), len(raw)


def range_bytes_of(byte_range: ByteRange) -> bytes:
    """The file bytes a range is made from (a row group's column chunks), e.g. to name its result by them."""
    start, end = byte_range.start, byte_range.end
    if byte_range.group >= 0:
        start, end = row_group_span(byte_range.location, byte_range.group)
    with _open(byte_range.location) as handle:
        handle.seek(start)
        data: bytes = handle.read(end - start)
    return data


def _split_at_newlines(data: bytes) -> list[bytes]:
    """Lines as a file read in binary mode gives them: ended by ``\\n`` only (``bytes.splitlines`` also ends one
    at a lone ``\\r``)."""
    lines = [line + b"\n" for line in data.split(b"\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]
