"""A chunk of validated records as the streamed readers give them, and the check every file read in chunks
passes once read: it held a record, and not only invalid ones."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import DataError, RecordError
from ...records import Record, to_record

__all__ = ["RecordChunk", "check_count", "validated"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordChunk:
    """Validated records of a file read in chunks, where each one is in it (a JSONL line's byte offset, a
    Parquet row's number), and how many bytes of the file have been read once the chunk is complete (for
    progress)."""

    records: Sequence[Record]
    offsets: np.ndarray
    bytes_read: int = 0


def check_count(source: str, count: int, skipped: Sequence[tuple[int, str]]) -> None:
    """A file read in pieces must hold a record, and not only invalid ones (``count`` counts those too)."""
    if not count:
        raise DataError(f"{source}: the dataset has no records")
    if skipped:
        logger.warning("%s: skipped %d invalid record(s) of %d", source, len(skipped), count)
    if len(skipped) == count:
        raise DataError(f"{source}: every record is invalid ({count} skipped by on_invalid: skip); the first: "
                        f"{skipped[0][1]}")


def validated(raws: Iterable[tuple[int, int, Any]], source: str, fields: Mapping[str, str] | None,
              on_invalid: str) -> tuple[list[Record], list[int], list[tuple[int, str]]]:
    """``(records, their offsets, skipped (index, reason))`` of ``(index, offset, raw record)`` items, validated
    in order (an item that cannot be parsed raises from ``raws`` at its turn, as a whole-file read would)."""
    records: list[Record] = []
    offsets: list[int] = []
    skipped: list[tuple[int, str]] = []
    for index, offset, raw in raws:
        try:
            records.append(to_record(raw, index=index, fields=fields, source=source))
            offsets.append(offset)
        except RecordError as error:
            if on_invalid != "skip":
                raise
            skipped.append((index, str(error)))
    return records, offsets, skipped
