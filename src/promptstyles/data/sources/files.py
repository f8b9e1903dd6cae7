"""Several record files as one dataset: a list of paths, a glob, or both, read in a fixed order.

A glob's matches are read in sorted order and a list in the order given, so the records, their indices and
the tokens built from them are those of the files joined end to end, whatever order the filesystem lists
them in. Each record error still names its own file and its index there.
"""

from __future__ import annotations

import codecs
import glob
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ...errors import DataError
from ...records import Record
from .loading import LoadedRecords, load_raw, validate_records
from .parquet import is_parquet, read_row_group, row_groups

__all__ = ["expand_paths", "first_record", "is_several", "load_data", "load_files", "read_data",
           "validate_data"]


def is_several(path: str | Sequence[str]) -> bool:
    """Whether ``data.path`` names several files (a list, or a pattern with ``*``, ``?`` or ``[``)."""
    return not isinstance(path, str) or glob.has_magic(path)


def expand_paths(path: str | Sequence[str]) -> list[Path]:
    """The files ``path`` names, in reading order; a pattern that matches no file is an error naming it."""
    files: list[Path] = []
    for entry in [path] if isinstance(path, str) else path:
        pattern = str(Path(entry).expanduser())
        if not glob.has_magic(pattern):
            files.append(Path(pattern))
            continue
        matches = sorted(Path(match) for match in glob.glob(pattern) if Path(match).is_file())
        if not matches:
            raise DataError(f"data.path: {entry} matches no file; check the pattern and the folder")
        files.extend(matches)
    repeated = sorted({str(file) for file in files if files.count(file) > 1})
    if repeated:
        raise DataError(f"data.path: {', '.join(repeated)} named more than once; each file is read once")
    return files


def read_data(source: str | Sequence[str], *, format: str = "auto", cache: str | None = None,
              use_cache: bool = True) -> Iterator[tuple[list[Any], str]]:
    """The raw records of each file (or the one URL) ``source`` names, with the name of each, not yet validated:
    read one at a time, so that a caller can tell what the records are from the first before reading on."""
    if not is_several(source):
        assert isinstance(source, str)
        yield load_raw(source, format=format, cache=cache, use_cache=use_cache)
        return
    for file in expand_paths(source):
        yield load_raw(file, format=format)


def validate_data(parts: Iterable[tuple[list[Any], str]], *, fields: Mapping[str, str] | None = None,
                  on_invalid: str = "error") -> LoadedRecords:
    """The records of every part (raw records and their file's name), validated and joined in order; skipped
    records keep their index in the joined records, and an error names the file and the record's index in it."""
    records: list[Record] = []
    skipped: list[tuple[int, str]] = []
    names: list[str] = []
    read = 0  # records of the files before this one, skipped ones included
    for raw, name in parts:
        loaded = validate_records(raw, name, fields=fields, on_invalid=on_invalid)
        skipped.extend((read + index, reason) for index, reason in loaded.skipped)
        records.extend(loaded.records)
        names.append(name)
        read += len(raw)
    return LoadedRecords(records, ", ".join(names), skipped)


def load_files(
    path: str | Sequence[str], *, format: str = "auto", fields: dict[str, str] | None = None,
    on_invalid: str = "error",
) -> LoadedRecords:
    """The records of every file ``path`` names, joined in reading order (see :func:`validate_data`)."""
    paths = [path] if isinstance(path, str) else path  # a list: each entry a file or a pattern
    return validate_data(read_data(paths, format=format), fields=fields, on_invalid=on_invalid)


def load_data(source: str | Sequence[str], *, cache: str | None = None, use_cache: bool = True,
              format: str = "auto", fields: Mapping[str, str] | None = None, on_invalid: str = "error",
              ) -> LoadedRecords:
    """The records of one file or URL (as :func:`~.loading.load_records` reads them), or of the several files
    ``source`` names (:func:`load_files`)."""
    return validate_data(read_data(source, format=format, cache=cache, use_cache=use_cache), fields=fields,
                         on_invalid=on_invalid)


def first_record(path: str | os.PathLike[str], format: str = "auto") -> Any:
    """The first record of a JSON Lines (or Parquet) file, parsed; None when it has none or its first line is no
    JSON (the build then names the problem): enough to tell what the records are without reading the file."""
    if is_parquet(path, format):
        groups = [group for group, rows in enumerate(row_groups(path)) if rows]
        return read_row_group(path, groups[0])[0] if groups else None
    with Path(path).expanduser().open("rb") as handle:
        for line in handle:
            text = line.removeprefix(codecs.BOM_UTF8).strip()
            if text:
                try:
                    return json.loads(text)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    return None
    return None
