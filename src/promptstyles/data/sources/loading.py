"""Reading records from JSON, JSONL or Parquet files and http(s) URLs, and validating every one of them.

Small inputs are read whole (:func:`load_records`); a JSONL file larger than memory is read in chunks
(:mod:`.jsonl_chunks`).
"""

from __future__ import annotations

import codecs
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import DataError, RecordError
from ...records import Record, to_record
from .download import fetch_url
from .parquet import is_parquet, read_parquet

__all__ = [
    "REFERENCE_DATA_URL", "LoadedRecords", "is_json_array", "load_raw", "load_records", "parse_raw", "read_raw",
    "validate_records",
]

logger = logging.getLogger(__name__)

REFERENCE_DATA_URL = (
    "https://raw.githubusercontent.com/rasbt/LLMs-from-scratch/main/ch07/01_main-chapter-code/instruction-data.json"
)


@dataclass(frozen=True)
class LoadedRecords:
    """Validated records, where they came from, and the records skipped (index, reason)."""

    records: list[Record]
    source: str
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{source}: not UTF-8 text (invalid byte at offset {error.start})") from error


def _json_error(source: str, error: json.JSONDecodeError, line_offset: int = 0) -> DataError:
    return DataError(f"{source}: invalid JSON at line {error.lineno + line_offset}, column {error.colno}: {error.msg}")


def read_raw(path: str | os.PathLike[str], *, format: str = "auto") -> list[Any]:
    """The raw records of a JSON array, JSONL or Parquet file, before validation."""
    source = str(path)
    if is_parquet(path, format):
        return read_parquet(path)
    try:
        data = Path(path).expanduser().read_bytes()
    except FileNotFoundError:
        raise DataError(f"{source}: file not found") from None
    except OSError as error:
        raise DataError(f"{source}: cannot read: {error}") from error
    return parse_raw(data, source, format=format)


def parse_raw(data: bytes, source: str, *, format: str = "auto") -> list[Any]:
    """The raw records in ``data`` (a JSON array or JSON Lines) read from ``source`` (a path or URL)."""
    text = _decode(data, source)
    if format == "auto":
        lowered = source.lower()
        if lowered.endswith((".jsonl", ".ndjson")):
            format = "jsonl"
        elif lowered.endswith(".json") or text.lstrip().startswith("["):
            format = "json"
        else:
            format = "jsonl"
    if format == "json":
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as error:
            if error.msg == "Extra data" and text.lstrip().startswith("{"):
                return parse_raw(data, source, format="jsonl")  # JSON Lines in a .json file
            raise _json_error(source, error) from error
        if not isinstance(loaded, list):
            raise DataError(f"{source}: expected a JSON array of records, got a JSON {type(loaded).__name__}")
        return loaded
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise _json_error(source, error, number - 1) from error
    return records


def load_raw(
    source: str | os.PathLike[str] | None = None, *, format: str = "auto",
    cache: str | os.PathLike[str] | None = None, use_cache: bool = True,
) -> tuple[list[Any], str]:
    """The raw records of a file or URL (the reference dataset by default), not yet validated, and the source's
    name; a URL is fetched as :func:`load_records` fetches it. An empty dataset is a :class:`DataError`."""
    if source is None:
        source = REFERENCE_DATA_URL
    label = str(source)
    if label.startswith(("http://", "https://")):
        raw = parse_raw(fetch_url(label, directory=cache, cache=use_cache), label, format=format)
    else:
        raw = read_raw(source, format=format)
    if not raw:
        raise DataError(f"{label}: the dataset has no records")
    return raw, label


def load_records(
    source: str | os.PathLike[str] | None = None,
    *,
    format: str = "auto",
    fields: Mapping[str, str] | None = None,
    on_invalid: str = "error",
    cache: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
) -> LoadedRecords:
    """Read, normalise and validate every record of a file or URL (the reference dataset by default).

    ``on_invalid="skip"`` drops bad records and reports how many (each reason is logged); the default
    raises a :class:`RecordError` naming the first bad record's index and key. A URL is downloaded through
    the cache folder ``cache`` (see :func:`~promptstyles.data.sources.download.fetch_url`), or afresh every time
    with ``use_cache=False``.
    """
    raw, label = load_raw(source, format=format, cache=cache, use_cache=use_cache)
    return validate_records(raw, label, fields=fields, on_invalid=on_invalid)


def validate_records(
    raw: Sequence[Any], label: str, *, fields: Mapping[str, str] | None = None, on_invalid: str = "error",
) -> LoadedRecords:
    """Raw records normalised and validated as :func:`load_records` does, ``label`` naming their source."""
    records: list[Record] = []
    skipped: list[tuple[int, str]] = []
    for index, item in enumerate(raw):
        try:
            records.append(to_record(item, index=index, fields=fields, source=label))
        except RecordError as error:
            if on_invalid != "skip":
                raise
            skipped.append((index, str(error)))
            logger.warning("skipping %s: %s", label, error)
    if skipped:
        logger.warning("%s: skipped %d invalid record(s) of %d", label, len(skipped), len(raw))
    if not records:
        raise DataError(f"{label}: every record is invalid ({len(skipped)} skipped by on_invalid: skip); the "
                        f"first: {skipped[0][1]}")
    return LoadedRecords(records, label, skipped)


def _open(path: str | os.PathLike[str]) -> Any:
    try:
        return Path(path).expanduser().open("rb")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error}") from error


def is_json_array(path: str | os.PathLike[str]) -> bool:
    """Whether a file holds a JSON array (its first character other than whitespace is ``[``)."""
    with _open(path) as handle:
        for line in handle:
            text = line.removeprefix(codecs.BOM_UTF8).strip()
            if text:
                return bool(text.startswith(b"["))
    return False
