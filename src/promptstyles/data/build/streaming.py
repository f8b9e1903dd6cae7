"""Streaming builds: JSONL files larger than memory read, tokenized and stored chunk by chunk.

Memory holds one chunk of records and its tokens at a time: each chunk's tokens and index arrays are appended
to a store entry (``store.py``) together with the byte offset of each record's line (and, for several files,
each record's file). The result is the dataset memory-mapped from the store, and the records as a
:class:`~..sources.file_records.FileRecords` that reads any of them back through those offsets. The entry is keyed by
a hash streamed over the files' bytes (:func:`~.cache.file_key`), so a second run maps it without tokenizing
again. Without the cache (or with an unwritable cache folder) the entry is built in a scratch folder that is
removed once mapped.

Several files are read in the order given, as one input: records are numbered across them for the skipped
list, and within their file in error messages, as :func:`~..sources.files.load_files` numbers them. A
``ranges`` engine (a cluster) is given line-aligned byte ranges of the files instead of records, and its
workers read them (:mod:`.ranged`); the store is the same.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..._io import cache_dir, warn_unwritable
from ...errors import DataError
from ...records import Record
from ...styles._base import Style
from ..modes import SpecialTokensMode
from ..sources.file_records import FileRecords
from ..sources.jsonl_chunks import read_record_chunks
from ..sources.parquet import is_parquet, read_row_chunks
from ..sources.ranges import RANGE_BYTES, plan_ranges
from ..store.cache import BlockDigests, file_key
from ..store.entries import StoredDataset, StoreWriter, open_store
from ..store.folder import prune
from ..tokenized import TokenizedDataset
from ..tokenizers.protocol import Tokenizer
from .encoding import CHUNK_SIZE, tokenize_chunks
from .ranged import RangeResult, merge_ranges

__all__ = ["RangeEngine", "StreamedData", "Tokenize", "stream_dataset"]

logger = logging.getLogger(__name__)

Tokenize = Callable[..., Iterable[TokenizedDataset]]
"""``tokenize_chunks`` or a parallel equivalent: chunks of records in, tokenized chunks out, in order."""

RangeEngine = Callable[..., Iterable[RangeResult]]
"""Byte ranges in (:class:`~..sources.ranges.ByteRange`, with ``style``, ``tokenizer`` and the keywords
``special_tokens``, ``fields``, ``on_invalid``), each range's :class:`~.ranged.RangeResult` out, in order."""


@dataclass(frozen=True)
class StreamedData:
    """A streamed build: the memory-mapped dataset, its records read on demand, and the records skipped."""

    dataset: TokenizedDataset
    records: FileRecords
    skipped: list[tuple[int, str]]
    source: str
    key: str
    """The store entry's key (see :func:`~.cache.file_key`)."""
    found: bool
    """True when the entry was already in the store, False when this call built it."""


def stream_dataset(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    style: Style,
    tokenizer: Tokenizer,
    *,
    special_tokens: SpecialTokensMode = "text",
    format: str = "auto",
    fields: Mapping[str, str] | None = None,
    on_invalid: str = "error",
    cache: bool = True,
    directory: str | os.PathLike[str] | None = None,
    chunk_size: int = CHUNK_SIZE,
    tokenize: Tokenize = tokenize_chunks,
    progress: Callable[[int, int], None] | None = None,
    ranges: RangeEngine | None = None,
    range_bytes: int = RANGE_BYTES,
    digests: BlockDigests | None = None,
) -> StreamedData:
    """Read the JSONL file at ``path`` (or the files, in order) in chunks of ``chunk_size`` records into a
    memory-mapped dataset; with ``ranges``, that engine reads the files in ranges of ``range_bytes``, and
    ``digests`` hashes them for the key where they are read (see :func:`~..store.cache.file_key`).

    ``progress(done, total)`` is called as each chunk is stored, in bytes of the files read up to its end (the
    number of records is not known before the end).
    """
    named = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    files = [Path(name).expanduser() for name in named]
    for name, file in zip(named, files, strict=True):
        if not file.is_file():
            raise DataError(f"{name}: file not found")
    loading = {"format": format, "fields": dict(fields or {}), "on_invalid": on_invalid}
    key = file_key(files, loading, style, tokenizer, special_tokens, digests)
    build = _Build(files, [str(name) for name in named], key, format, style, tokenizer, special_tokens,
                   dict(fields or {}), on_invalid, chunk_size, tokenize, progress, ranges, range_bytes)
    if cache:
        stored = open_store(key, directory)
        if stored is not None:
            return build.result(stored, found=True)
        try:
            return build.into(directory)
        except OSError as error:
            warn_unwritable(cache_dir(directory), error)
    scratch = tempfile.mkdtemp(prefix="promptstyles-stream-")
    try:  # the mapped files outlive their names
        return build.into(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@dataclass(frozen=True)
class _Build:
    files: list[Path]
    names: list[str]
    key: str
    format: str
    style: Style
    tokenizer: Tokenizer
    special_tokens: SpecialTokensMode
    fields: dict[str, str]
    on_invalid: str
    chunk_size: int
    tokenize: Tokenize
    progress: Callable[[int, int], None] | None
    ranges: RangeEngine | None
    range_bytes: int

    @property
    def source(self) -> str:
        return ", ".join(self.names)

    def into(self, directory: str | os.PathLike[str] | None) -> StreamedData:
        """Build the entry in ``directory`` and map it; raises ``OSError`` when the folder cannot be written."""
        skipped: list[tuple[int, str]] = []
        size = sum(file.stat().st_size for file in self.files)
        several = len(self.files) > 1
        with StoreWriter(self.key, directory) as writer:
            for piece, offsets, files, bytes_read in self._pieces(skipped):
                writer.append_array("records", offsets, np.int64)
                if several:
                    writer.append_array("record_files", files, np.int32)
                writer.append(piece)
                if self.progress is not None:
                    self.progress(bytes_read, size)
            info: dict[str, Any] = {"style": self.style.name, "tokenizer": self.tokenizer.name,
                                    "source": self.source, "skipped": skipped}
            path = writer.commit(info)
        prune(path.parent, keep=path)
        stored = open_store(self.key, directory)
        if stored is None:
            raise DataError(f"the dataset store {path} cannot be read back just after it was written")
        return self.result(stored, found=False)

    def _pieces(self, skipped: list[tuple[int, str]]) -> Iterator[tuple[TokenizedDataset, np.ndarray, np.ndarray,
                                                                          int]]:
        """Each tokenized chunk in order, with its records' line offsets and files, and the bytes read so far."""
        if self.ranges is not None:
            plan = plan_ranges(self.names, self.range_bytes, self.format)
            results = self.ranges(plan, self.style, self.tokenizer, special_tokens=self.special_tokens,
                                  fields=self.fields, on_invalid=self.on_invalid)
            for merged in merge_ranges(zip(plan, results, strict=True), self.names, self.style, self.tokenizer,
                                       special_tokens=self.special_tokens, fields=self.fields,
                                       on_invalid=self.on_invalid, source=self.source, skipped=skipped):
                yield merged.arrays.dataset(), merged.offsets, merged.files, merged.bytes_read
            return
        # The tokenizer may read chunks on a helper thread ahead of this one (overlap.py): reading only queues
        # each chunk's line offsets, and this thread writes them with the chunk's tokens, in order.
        read: deque[tuple[np.ndarray, int, int]] = deque()
        chunks = self._record_chunks(read, skipped)
        for piece in self.tokenize(chunks, self.style, self.tokenizer, special_tokens=self.special_tokens,
                                   source=self.source):
            offsets, file, bytes_read = read.popleft()
            yield piece, offsets, np.full(len(offsets), file, dtype=np.int32), bytes_read

    def _record_chunks(self, read: deque[tuple[np.ndarray, int, int]],
                       skipped: list[tuple[int, str]]) -> Iterator[Sequence[Record]]:
        """The records of every file in chunks, queuing each chunk's offsets, file and bytes read in ``read``;
        records skipped are numbered in the whole input."""
        before = done = 0  # records (invalid ones too) and bytes of the files before this one
        for number, (file, name) in enumerate(zip(self.files, self.names, strict=True)):
            skipped_here: list[tuple[int, str]] = []
            count = 0
            if is_parquet(name, self.format):
                chunks = read_row_chunks(name, fields=self.fields, on_invalid=self.on_invalid, skipped=skipped_here)
            else:
                chunks = read_record_chunks(name, fields=self.fields, on_invalid=self.on_invalid,
                                            chunk_size=self.chunk_size, skipped=skipped_here, lazy=True)
            for chunk in chunks:
                count += len(chunk.records)
                if chunk.records:  # an empty chunk is never tokenized, so nothing of it is written
                    read.append((chunk.offsets, number, done + chunk.bytes_read))
                    yield chunk.records
            skipped += [(before + index, reason) for index, reason in skipped_here]
            before += count + len(skipped_here)
            done += file.stat().st_size

    def result(self, stored: StoredDataset, *, found: bool) -> StreamedData:
        skipped = [(int(index), str(reason)) for index, reason in stored.info.get("skipped", [])]
        records = FileRecords(self.files, stored.arrays["records"], fields=self.fields,
                               files=stored.arrays.get("record_files"), format=self.format)
        return StreamedData(stored.dataset, records, skipped, self.source, self.key, found)
