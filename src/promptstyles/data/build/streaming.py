"""Streaming builds: a JSONL file larger than memory read, tokenized and stored chunk by chunk.

Memory holds one chunk of records and its tokens at a time: each chunk's tokens and index arrays are appended
to a store entry (``store.py``) together with the byte offset of each record's line. The result is the
dataset memory-mapped from the store, and the records as a :class:`~.jsonl_chunks.JsonlRecords` that reads any of
them back through those offsets. The entry is keyed by a hash streamed over the file's bytes
(:func:`~.cache.file_key`), so a second run maps it without tokenizing again. Without the cache (or with an
unwritable cache folder) the entry is built in a scratch folder that is removed once mapped.
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
from ..sources.jsonl_chunks import JsonlRecords, read_record_chunks
from ..store.cache import file_key
from ..store.entries import StoredDataset, StoreWriter, open_store
from ..store.folder import prune
from ..tokenized import TokenizedDataset
from ..tokenizers.protocol import Tokenizer
from .encoding import CHUNK_SIZE, tokenize_chunks

__all__ = ["StreamedData", "Tokenize", "stream_dataset"]

logger = logging.getLogger(__name__)

Tokenize = Callable[..., Iterable[TokenizedDataset]]
"""``tokenize_chunks`` or a parallel equivalent: chunks of records in, tokenized chunks out, in order."""


@dataclass(frozen=True)
class StreamedData:
    """A streamed build: the memory-mapped dataset, its records read on demand, and the records skipped."""

    dataset: TokenizedDataset
    records: JsonlRecords
    skipped: list[tuple[int, str]]
    source: str
    key: str
    """The store entry's key (see :func:`~.cache.file_key`)."""
    found: bool
    """True when the entry was already in the store, False when this call built it."""


def stream_dataset(
    path: str | os.PathLike[str],
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
) -> StreamedData:
    """Read the JSONL file at ``path`` in chunks of ``chunk_size`` records into a memory-mapped dataset.

    ``progress(done, total)`` is called as each chunk is stored, in bytes of the file read up to its end (the
    number of records is not known before the end).
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataError(f"{path}: file not found")
    loading = {"format": format, "fields": dict(fields or {}), "on_invalid": on_invalid}
    key = file_key(file, loading, style, tokenizer, special_tokens)
    build = _Build(file, str(path), key, style, tokenizer, special_tokens, dict(fields or {}), on_invalid,
                   chunk_size, tokenize, progress)
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
    file: Path
    source: str
    key: str
    style: Style
    tokenizer: Tokenizer
    special_tokens: SpecialTokensMode
    fields: dict[str, str]
    on_invalid: str
    chunk_size: int
    tokenize: Tokenize
    progress: Callable[[int, int], None] | None

    def into(self, directory: str | os.PathLike[str] | None) -> StreamedData:
        """Build the entry in ``directory`` and map it; raises ``OSError`` when the folder cannot be written."""
        skipped: list[tuple[int, str]] = []
        size = self.file.stat().st_size
        # The tokenizer may read chunks on a helper thread ahead of this one (overlap.py): reading only queues
        # each chunk's line offsets, and this thread writes them with the chunk's tokens, in order.
        read: deque[tuple[np.ndarray, int]] = deque()

        def pieces() -> Iterator[Sequence[Record]]:
            for chunk in read_record_chunks(self.file, fields=self.fields, on_invalid=self.on_invalid,
                                            chunk_size=self.chunk_size, skipped=skipped, lazy=True):
                if chunk.records:  # an empty chunk is never tokenized, so nothing of it is written
                    read.append((chunk.offsets, chunk.bytes_read))
                    yield chunk.records

        with StoreWriter(self.key, directory) as writer:
            for piece in self.tokenize(pieces(), self.style, self.tokenizer, special_tokens=self.special_tokens,
                                       source=self.source):
                offsets, bytes_read = read.popleft()
                writer.append_array("records", offsets, np.int64)
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

    def result(self, stored: StoredDataset, *, found: bool) -> StreamedData:
        skipped = [(int(index), str(reason)) for index, reason in stored.info.get("skipped", [])]
        records = JsonlRecords(self.file, stored.arrays["records"], fields=self.fields)
        return StreamedData(stored.dataset, records, skipped, self.source, self.key, found)
