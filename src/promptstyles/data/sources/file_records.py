"""A streamed dataset's records read back from their files on demand: a JSONL record by its line's byte offset,
a Parquet record by its row number, so the records of a corpus larger than memory need not be held."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from ...errors import DataError, RecordError
from ...records import Record, to_record
from .loading import _open
from .parquet import is_parquet, read_parquet, read_row

__all__ = ["FileRecords"]


class FileRecords(Sequence[Record]):
    """The records of one or more JSONL files, read on demand from the byte offset of each one's line (from a
    Parquet file, by row number).

    A streamed dataset's records (for generation prompts, fingerprints, statistics) without holding them.
    ``files`` gives each record's file (its position in ``paths``) when there are several.
    """

    def __init__(self, paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], offsets: np.ndarray, *,
                 fields: Mapping[str, str] | None = None, files: np.ndarray | None = None,
                 format: str = "auto") -> None:
        named = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        self.paths = [Path(path).expanduser() for path in named]
        self.offsets = offsets
        self.files = files if files is not None else np.zeros(len(offsets), dtype=np.int32)
        self.fields = dict(fields or {})
        self.format = format

    @property
    def path(self) -> Path:
        """The first (for one file, the only) file."""
        return self.paths[0]

    def __len__(self) -> int:
        return len(self.offsets)

    def _parse(self, line: bytes | dict[str, Any], index: int) -> Record:
        path = self.paths[int(self.files[index])]
        try:
            raw = line if isinstance(line, dict) else json.loads(line)
            return to_record(raw, index=index, fields=self.fields, source=str(path))
        except (json.JSONDecodeError, UnicodeDecodeError, RecordError) as error:
            raise DataError(f"{path}: record {index} cannot be read back at {self._where(path)} "
                            f"{int(self.offsets[index])} ({error}); the file changed since it was tokenized: build "
                            "its dataset again") from error

    def _where(self, path: Path) -> str:
        return "row" if self._parquet(path) else "byte"

    def _parquet(self, path: Path) -> bool:
        return is_parquet(path, self.format)

    def _read(self, index: int) -> Record:
        path = self.paths[int(self.files[index])]
        if self._parquet(path):
            return self._parse(read_row(path, int(self.offsets[index])), index)
        with _open(path) as handle:
            handle.seek(int(self.offsets[index]))
            return self._parse(handle.readline(), index)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(f"record {index} out of range: {len(self)} records")
        return self._read(index % len(self))

    def __iter__(self) -> Iterator[Record]:
        for number, path in enumerate(self.paths):
            indices = np.flatnonzero(self.files == number).tolist()
            if self._parquet(path):
                rows = read_parquet(path)
                yield from (self._parse(rows[int(self.offsets[index])], index) for index in indices)
                continue
            with _open(path) as handle:
                for index in indices:
                    handle.seek(int(self.offsets[index]))
                    yield self._parse(handle.readline(), index)
