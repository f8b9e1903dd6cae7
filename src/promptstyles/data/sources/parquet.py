"""Records in Parquet files, read whole or one row group at a time (``pyarrow``, the ``parquet`` extra).

Each row is a record (its columns the record's keys; nested columns, such as ``messages``, come as lists of
dicts). A row group is the unit a streamed or cluster build reads: its first row's number in the file comes from
the file's metadata, so a worker that reads one row group numbers its records as a whole-file read numbers them,
and errors name the file and the record's row. Parquet has no absent value, so a key missing from some records
is ``None`` in them, which the record reader takes as absent.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataError
from ...records import Record
from .chunks import RecordChunk, check_count, validated

__all__ = ["Rows", "is_parquet", "read_parquet", "read_row", "read_row_chunks", "read_row_group", "row_group_span",
           "row_groups"]

logger = logging.getLogger(__name__)

_SUFFIXES = (".parquet", ".pq")


def is_parquet(path: str | os.PathLike[str], format: str = "auto") -> bool:
    """Whether ``path`` is read as Parquet: ``format: parquet``, or ``auto`` and a ``.parquet`` / ``.pq`` name."""
    return format == "parquet" or (format == "auto" and str(path).lower().endswith(_SUFFIXES))


def _parquet() -> Any:
    try:
        return importlib.import_module("pyarrow.parquet")
    except ImportError as error:
        raise DataError("reading Parquet needs pyarrow; install it with pip install 'promptstyles[parquet]'") \
            from error


def _file(path: str | os.PathLike[str]) -> Any:
    try:
        return _parquet().ParquetFile(Path(path).expanduser())
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(f"{path}: not a readable Parquet file ({error})") from error


def read_parquet(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every row of a Parquet file, as raw records."""
    rows: list[dict[str, Any]] = _file(path).read().to_pylist()
    return rows


def row_groups(path: str | os.PathLike[str]) -> list[int]:
    """The number of rows of each row group of a Parquet file."""
    metadata = _file(path).metadata
    return [metadata.row_group(group).num_rows for group in range(metadata.num_row_groups)]


def row_group_span(path: str | os.PathLike[str], group: int) -> tuple[int, int]:
    """Where a row group's column chunks lie in the file (bytes, end exclusive)."""
    columns = _file(path).metadata.row_group(group)
    spans = []
    for index in range(columns.num_columns):
        column = columns.column(index)
        start = min(o for o in (column.dictionary_page_offset, column.data_page_offset) if o is not None)
        spans.append((start, start + column.total_compressed_size))
    return min(start for start, _ in spans), max(end for _, end in spans)


def read_row_group(path: str | os.PathLike[str], group: int) -> list[dict[str, Any]]:
    """The rows of one row group."""
    rows: list[dict[str, Any]] = _file(path).read_row_group(group).to_pylist()
    return rows


def read_row(path: str | os.PathLike[str], row: int) -> dict[str, Any]:
    """One row, by its number in the file (its row group is read)."""
    first = 0
    for group, size in enumerate(row_groups(path)):
        if row < first + size:
            return read_row_group(path, group)[row - first]
        first += size
    raise DataError(f"{path}: no row {row}; the file changed since it was tokenized: build its dataset again")


def read_row_chunks(path: str | os.PathLike[str], *, fields: Mapping[str, str] | None = None,
                    on_invalid: str = "error", skipped: list[tuple[int, str]] | None = None,
                    ) -> Iterator[RecordChunk]:
    """The records of a Parquet file, validated, a row group at a time, as
    :func:`~.jsonl_chunks.read_record_chunks` gives a JSONL file's (each record's offset is its row number;
    progress counts the file's bytes in proportion to its rows)."""
    source = str(path)
    skips = skipped if skipped is not None else []
    sizes = row_groups(path)
    total, size = max(1, sum(sizes)), Path(path).expanduser().stat().st_size
    first = 0
    for group, rows in enumerate(sizes):
        records, numbers, skipped_here = Rows(source, read_row_group(path, group), first).parse(fields, on_invalid)
        for _, reason in skipped_here:
            logger.warning("skipping %s: %s", source, reason)
        skips += skipped_here
        first += rows
        if records:
            yield RecordChunk(records, np.array(numbers, dtype=np.int64), size * first // total)
    check_count(source, first, skips)


@dataclass(frozen=True)
class Rows:
    """The rows of one row group as a build reads them: the counterpart of a JSONL range's lines."""

    source: str
    rows: list[dict[str, Any]]
    first_index: int
    """The first row's number in the file."""

    @property
    def texts(self) -> list[dict[str, Any]]:
        """The rows (named as a range's lines are, which the merge counts)."""
        return self.rows

    def parse(self, fields: Mapping[str, str] | None, on_invalid: str) -> tuple[list[Record], list[int],
                                                                                list[tuple[int, str]]]:
        """``(records, their row numbers, skipped (row, reason))``, as :meth:`~.jsonl_chunks.Lines.parse`."""
        rows = ((index, index, row) for index, row in enumerate(self.rows, start=self.first_index))
        return validated(rows, self.source, fields, on_invalid)
