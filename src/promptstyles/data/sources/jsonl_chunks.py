"""A JSONL file larger than memory, read in chunks: its lines numbered as a whole-file read numbers them, the
records parsed from them, and any record read back later from its line's byte offset.

The file is read by one process, but its records need not be parsed there: under ``on_invalid: error`` every
non-blank line is a record, so a chunk's record numbers and byte offsets are known from the lines alone, and
:class:`LineRecords` parses them where they are first used (a worker process or a Ray actor that tokenizes
them), with the same errors a parse here would raise. A record is read back later by its line's byte offset
(:mod:`.file_records`).
"""

from __future__ import annotations

import codecs
import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from ...records import Record
from .chunks import RecordChunk, check_count, validated
from .loading import _decode, _json_error, _open

__all__ = ["LineRecords", "Lines", "numbered_lines", "read_lines", "read_record_chunks"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lines:
    """Non-blank lines of a JSONL file, decoded: their line numbers, byte offsets, the number of records before
    them, and how many bytes of the file have been read once they are (for progress)."""

    source: str
    texts: list[str]
    numbers: list[int]
    starts: list[int]
    first_index: int
    bytes_read: int

    def parse(self, fields: Mapping[str, str] | None, on_invalid: str) -> tuple[list[Record], list[int],
                                                                                list[tuple[int, str]]]:
        """``(records, their byte offsets, skipped (index, reason))``; a record is numbered by its place in the
        file, invalid ones included."""
        def raws() -> Iterator[tuple[int, int, Any]]:
            for index, (text, number, start) in enumerate(zip(self.texts, self.numbers, self.starts, strict=True),
                                                          start=self.first_index):
                try:
                    yield index, start, json.loads(text)
                except json.JSONDecodeError as error:
                    raise _json_error(self.source, error, number - 1) from error

        return validated(raws(), self.source, fields, on_invalid)


def numbered_lines(source: str, lines: Iterable[bytes], position: int = 0, first_line: int = 1,
                   ) -> Iterator[tuple[str, int, int, int]]:
    """``(text, line number, byte offset, bytes read after it)`` of each non-blank line of ``lines`` (raw lines
    of a file, each with its ``\\n``), the first at byte ``position`` of the file, numbered from ``first_line``."""
    for number, line in enumerate(lines, start=first_line):
        start, position = position, position + len(line)
        if start == 0 and line.startswith(codecs.BOM_UTF8):
            line, start = line[len(codecs.BOM_UTF8):], start + len(codecs.BOM_UTF8)
        text = _decode(line, f"{source}, line {number}").rstrip("\r\n")
        if text.strip():
            yield text, number, start, position


def read_lines(path: str | os.PathLike[str], chunk_size: int) -> Iterator[Lines]:
    """The non-blank lines of a JSONL file, ``chunk_size`` at a time."""
    source = str(path)
    count = position = 0
    texts: list[str] = []
    numbers: list[int] = []
    starts: list[int] = []
    with _open(path) as handle:
        for text, number, start, position in numbered_lines(source, handle):
            texts.append(text)
            numbers.append(number)
            starts.append(start)
            if len(texts) >= chunk_size:
                yield Lines(source, texts, numbers, starts, count, position)
                count += len(texts)
                texts, numbers, starts = [], [], []
        position = handle.tell()
    if texts:
        yield Lines(source, texts, numbers, starts, count, position)


class LineRecords(Sequence[Record]):
    """The records of :class:`Lines` read under ``on_invalid: error`` (every line is one), parsed when first
    used. Pickled, it carries the lines' text, so the process that unpickles it does the parsing."""

    def __init__(self, lines: Lines, fields: Mapping[str, str] | None = None) -> None:
        self.lines = lines
        self.fields = dict(fields or {})
        self._records: list[Record] | None = None

    def __len__(self) -> int:
        return len(self.lines.texts)

    def _parsed(self) -> list[Record]:
        if self._records is None:
            self._records = self.lines.parse(self.fields, "error")[0]
        return self._records

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        return self._parsed()[index]

    def __iter__(self) -> Iterator[Record]:
        return iter(self._parsed())

    def __getstate__(self) -> dict[str, Any]:
        return {"lines": self.lines, "fields": self.fields, "_records": None}


def read_record_chunks(
    path: str | os.PathLike[str],
    *,
    fields: Mapping[str, str] | None = None,
    on_invalid: str = "error",
    chunk_size: int = 4096,
    skipped: list[tuple[int, str]] | None = None,
    lazy: bool = False,
) -> Iterator[RecordChunk]:
    """The records of a JSONL file, validated, ``chunk_size`` lines at a time: memory holds one chunk.

    Records are numbered as :func:`~.loading.load_records` numbers them (blank lines aside), so errors name
    the same record; invalid ones skipped under ``on_invalid="skip"`` are appended to ``skipped``. ``lazy``
    (under ``on_invalid="error"``) gives each chunk's records as :class:`LineRecords`, parsed where used.
    """
    source = str(path)
    count = 0
    skips = skipped if skipped is not None else []
    for lines in read_lines(path, chunk_size):
        count = lines.first_index + len(lines.texts)
        if lazy and on_invalid == "error":
            yield RecordChunk(LineRecords(lines, fields), np.array(lines.starts, dtype=np.int64), lines.bytes_read)
            continue
        records, offsets, skipped_here = lines.parse(fields, on_invalid)
        for _, reason in skipped_here:
            logger.warning("skipping %s: %s", source, reason)
        skips += skipped_here
        if records:
            yield RecordChunk(records, np.array(offsets, dtype=np.int64), lines.bytes_read)
    check_count(source, count, skips)
