"""Several record files as one dataset: a list of paths, a glob, or both, read in a fixed order.

A glob's matches are read in sorted order and a list in the order given, so the records, their indices and
the tokens built from them are those of the files joined end to end, whatever order the filesystem lists
them in. Each record error still names its own file and its index there.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...errors import DataError
from ...records import Record
from .loading import LoadedRecords, load_records

__all__ = ["expand_paths", "is_several", "load_data", "load_files", "single_file"]


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


def load_files(
    path: str | Sequence[str], *, format: str = "auto", fields: dict[str, str] | None = None,
    on_invalid: str = "error",
) -> LoadedRecords:
    """The records of every file ``path`` names, joined in reading order; skipped records keep their index in
    the joined records, and an error names the file and the record's index in it."""
    records: list[Record] = []
    skipped: list[tuple[int, str]] = []
    files = expand_paths(path)
    read = 0  # records of the files before this one, skipped ones included
    for file in files:
        loaded = load_records(file, format=format, fields=fields, on_invalid=on_invalid)
        skipped.extend((read + index, reason) for index, reason in loaded.skipped)
        records.extend(loaded.records)
        read += len(loaded.records) + len(loaded.skipped)
    return LoadedRecords(records, ", ".join(str(file) for file in files), skipped)


def load_data(source: str | Sequence[str], *, cache: str | None = None, use_cache: bool = True,
              **options: Any) -> LoadedRecords:
    """The records of one file or URL (:func:`~.loading.load_records`), or of the several files ``source``
    names (:func:`load_files`)."""
    if is_several(source):
        return load_files(source, **options)
    assert isinstance(source, str)
    return load_records(source, cache=cache, use_cache=use_cache, **options)


def single_file(path: str | Sequence[str]) -> str:
    """The one file ``path`` names, for a build that streams one file; several are an error saying what to do."""
    files = expand_paths(path)
    if len(files) > 1:
        raise DataError(f"data.path names {len(files)} files, and data.streaming reads one JSONL file: join them "
                        "into one, or set data.streaming: false to read them whole")
    return str(files[0])
