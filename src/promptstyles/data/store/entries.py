"""The dataset store: a tokenized dataset on disk as raw arrays, memory-mapped when read.

An entry is a folder ``datasets/<key>/``::

    tokens.bin        the token buffer, in the dtype of ``TokenizedDataset.tokens`` (uint16 or uint32)
    starts.bin        int64   where each example starts in the buffer
    lengths.bin       int32   tokens per example (without its end-of-text)
    run_ends.bin      int32   end of each part run, in tokens from its example's start
    run_kinds.bin     uint8   kind code of each run
    run_offsets.bin   int64   where each example's runs start (one more than there are examples)
    records.bin       int64   (streamed builds) byte offset of each record's line in its JSONL file
    meta.json         key, format, dtype, length and checksum of every array, eos_id, vocab_size, what the
                      entry was built from, and a checksum of all that
    verified.json     the token file's stamp when it was last hashed whole and found sound

Arrays are opened with ``numpy.memmap``, so DataLoader workers and DDP ranks on one machine share one copy in
the page cache instead of each holding its own.

Writing goes into a temporary folder beside the final one, chunk by chunk (a dataset never has to be whole in
memory), and the folder is renamed into place: a reader sees no entry or a whole one, and of two writers
racing one wins with the same arrays.

Verification must keep a reload of a million records (a hundred million tokens) well under a second, so the
token file is hashed whole only when it changed. Every load checks: the metadata against its own checksum; the
size of every file against the dtype and length recorded; the full checksum of every index array (a few dozen
bytes per example); and the token file, hashed whole unless its stamp (size, times, inode) is the one recorded
when it was last hashed whole and found sound, in which case :data:`~.checksums.SAMPLE_BLOCKS` blocks spread over
it are hashed (see :mod:`.checksums`). :func:`verify_store` (``promptstyles cache verify``) hashes every file
whole. A damaged entry is never used: the caller rebuilds it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from ..._io import TEMPORARY_SUFFIX, cache_dir, warn_unwritable
from ...errors import DataError
from ..tokenized import TokenizedDataset
from .checksums import checksum, file_stamp, is_verified, mark_verified, new_digest
from .folder import META, meta_checksum, prune, read_meta

__all__ = ["FORMAT", "StoreWriter", "StoredDataset", "load_dataset", "open_store", "save_dataset", "store_folder",
           "verify_store", "write_store"]

logger = logging.getLogger(__name__)

FORMAT = 3
INDEX_DTYPES = {"starts": np.int64, "lengths": np.int32, "run_ends": np.int32, "run_kinds": np.uint8,
                "run_offsets": np.int64}
"""The fixed dtypes of the index arrays: chunks built separately may pick narrower ones."""


def store_folder(directory: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding the entries: ``datasets/`` in the cache folder."""
    return cache_dir(directory) / "datasets"


@dataclass(frozen=True)
class StoredDataset:
    """An entry opened: the dataset on memory-mapped arrays, any extra arrays, and its metadata."""

    dataset: TokenizedDataset
    arrays: dict[str, np.ndarray]
    info: dict[str, Any]
    path: Path


class StoreWriter:
    """Builds an entry chunk by chunk, offsetting each chunk's starts and runs::

        with StoreWriter(key, directory) as writer:
            for chunk in chunks:
                writer.append(chunk)
            path = writer.commit({"style": "alpaca"})

    Leaving the block without :meth:`commit` (or on an error) removes the temporary folder. Raises
    ``OSError`` when the folder cannot be written.
    """

    def __init__(self, key: str, directory: str | os.PathLike[str] | None = None) -> None:
        self.key = key
        self.folder = store_folder(directory)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.temporary = Path(tempfile.mkdtemp(prefix=f".{key}.", suffix=TEMPORARY_SUFFIX, dir=self.folder))
        os.chmod(self.temporary, 0o755)  # mkdtemp makes folders private; entries are ordinary outputs
        self._files: dict[str, tuple[Any, np.dtype[Any], Any]] = {}
        self._lengths: dict[str, int] = {}
        self._tokens = 0
        self._runs = 0
        self._examples = 0
        self._ids: tuple[int, int] | None = None

    def append_array(self, name: str, values: np.ndarray, dtype: Any = None) -> None:
        """Append ``values`` to the array ``name`` (its dtype is fixed by the first append)."""
        if name not in self._files:
            kind = np.dtype(dtype if dtype is not None else values.dtype)
            self._files[name] = ((self.temporary / f"{name}.bin").open("wb"), kind, new_digest())
            self._lengths[name] = 0
        handle, kind, digest = self._files[name]
        data = np.ascontiguousarray(values, dtype=kind).tobytes()
        handle.write(data)
        digest.update(data)
        self._lengths[name] += len(values)

    def append(self, chunk: TokenizedDataset) -> None:
        """Append one chunk's examples after those already written."""
        if self._ids is None:
            self._ids = (chunk.eos_id, chunk.vocab_size)
            self.append_array("run_offsets", np.zeros(1, dtype=np.int64))
        elif self._ids != (chunk.eos_id, chunk.vocab_size):
            raise DataError(f"chunk with eos_id/vocab_size {chunk.eos_id}/{chunk.vocab_size} after "
                            f"{self._ids[0]}/{self._ids[1]}: chunks must come from one tokenizer")
        self.append_array("tokens", chunk.tokens)
        self.append_array("starts", chunk.starts.astype(np.int64) + self._tokens, np.int64)
        for name in ("lengths", "run_ends", "run_kinds"):
            self.append_array(name, getattr(chunk, name), INDEX_DTYPES[name])
        self.append_array("run_offsets", chunk.run_offsets[1:].astype(np.int64) + self._runs, np.int64)
        self._tokens += len(chunk.tokens)
        self._runs += len(chunk.run_kinds)
        self._examples += len(chunk)

    def commit(self, info: Mapping[str, Any] | None = None) -> Path:
        """Close the files, write the metadata and rename the folder into place; returns the entry's folder."""
        if self._ids is None:
            raise DataError("no tokenized chunks to store")
        arrays = {}
        for name, (handle, kind, digest) in self._files.items():
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            arrays[name] = {"dtype": kind.str, "length": self._lengths[name], "checksum": digest.hexdigest()}
        tokens = self.temporary / "tokens.bin"
        arrays["tokens"]["sample"] = checksum(tokens, tokens.stat().st_size, sample=True)
        mark_verified(tokens, arrays["tokens"]["checksum"], file_stamp(tokens))  # hashed whole as it was written
        meta = {"format": FORMAT, "key": self.key, "eos_id": self._ids[0], "vocab_size": self._ids[1],
                "examples": self._examples, "arrays": arrays, "info": dict(info or {})}
        data = json.dumps({"meta": meta, "checksum": meta_checksum(meta)}, indent=1).encode()
        with (self.temporary / META).open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        final = self.folder / self.key
        self._rename(final)
        return final

    def _rename(self, final: Path) -> None:
        try:
            os.rename(self.temporary, final)
            return
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        if open_store(self.key, final.parent.parent) is not None:  # a racing writer's: equal, keep it
            shutil.rmtree(self.temporary, ignore_errors=True)
            return
        # A damaged entry: moved aside first (readers that mapped it keep their files), then replaced.
        aside = Path(tempfile.mkdtemp(prefix=f".{self.key}.", suffix=TEMPORARY_SUFFIX, dir=self.folder))
        with contextlib.suppress(FileNotFoundError):
            os.replace(final, aside)
        shutil.rmtree(aside, ignore_errors=True)
        try:
            os.rename(self.temporary, final)
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            shutil.rmtree(self.temporary, ignore_errors=True)  # another writer was quicker

    def abort(self) -> None:
        for handle, _, _ in self._files.values():
            handle.close()
        shutil.rmtree(self.temporary, ignore_errors=True)

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.temporary.exists():
            self.abort()


def write_store(chunks: Iterable[TokenizedDataset], key: str, directory: str | os.PathLike[str] | None = None,
                info: Mapping[str, Any] | None = None) -> Path:
    """Store a stream of chunks under ``key``; raises ``OSError`` when the folder cannot be written."""
    with StoreWriter(key, directory) as writer:
        for chunk in chunks:
            writer.append(chunk)
        path = writer.commit(info)
    prune(path.parent, keep=path)
    return path


def save_dataset(dataset: TokenizedDataset, key: str, directory: str | os.PathLike[str] | None = None,
                 info: Mapping[str, Any] | None = None) -> Path | None:
    """Store ``dataset`` under ``key``; returns the entry, or None when the folder is unwritable (reported once)."""
    try:
        return write_store([dataset], key, directory, info)
    except OSError as error:
        warn_unwritable(cache_dir(directory), error)
        return None


def _check(path: Path, key: str, *, full: bool) -> dict[str, Any]:
    """The metadata of a sound entry; raises ValueError (or OSError, KeyError) naming what is wrong."""
    meta = read_meta(path)
    if meta.get("format") != FORMAT or meta.get("key") != key:
        raise ValueError(f"it is format {meta.get('format')} of key {meta.get('key')}, not {FORMAT} of {key}")
    for name, entry in meta["arrays"].items():
        file = path / f"{name}.bin"
        size = file.stat().st_size
        if size != entry["length"] * np.dtype(entry["dtype"]).itemsize:
            raise ValueError(f"{file.name} has {size} bytes, not {entry['length']} {entry['dtype']} values")
        sample = name == "tokens" and not full and is_verified(file, entry["checksum"])
        stamp = file_stamp(file)
        if checksum(file, size, sample=sample) != entry["sample" if sample else "checksum"]:
            raise ValueError(f"{file.name} does not match its checksum")
        if name == "tokens" and not sample:
            mark_verified(file, entry["checksum"], stamp)
    return meta


def _map(file: Path, entry: Mapping[str, Any]) -> np.ndarray:
    if not entry["length"]:
        return np.empty(0, dtype=entry["dtype"])
    return np.memmap(file, dtype=np.dtype(entry["dtype"]), mode="r", shape=(int(entry["length"]),))


def open_store(
    key: str, directory: str | os.PathLike[str] | None = None, *, full: bool = False,
) -> StoredDataset | None:
    """The entry for ``key`` on memory-mapped arrays, or None when it is missing or fails verification."""
    path = store_folder(directory) / key
    try:
        meta = _check(path, key, full=full)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        logger.warning("ignoring dataset cache %s: %s", path, error)
        return None
    arrays = {name: _map(path / f"{name}.bin", entry) for name, entry in meta["arrays"].items()}
    try:
        os.utime(path / META)  # recently used: pruned last
    except OSError as error:  # a read-only cache still serves its entries
        logger.debug("cannot mark %s as recently used: %s", path, error)
    logger.info("loaded tokenized dataset from %s", path)
    dataset = TokenizedDataset(*(arrays.pop(name) for name in ("tokens", *INDEX_DTYPES)),
                               eos_id=int(meta["eos_id"]), vocab_size=int(meta["vocab_size"]))
    return StoredDataset(dataset, arrays, meta["info"], path)


def load_dataset(key: str, directory: str | os.PathLike[str] | None = None) -> TokenizedDataset | None:
    """The stored dataset for ``key`` (memory-mapped), or None when it is missing, stale or damaged."""
    stored = open_store(key, directory)
    return None if stored is None else stored.dataset


def verify_store(key: str, directory: str | os.PathLike[str] | None = None) -> str | None:
    """Check an entry whole, every token included; returns what is wrong with it, or None when it is sound."""
    try:
        _check(store_folder(directory) / key, key, full=True)
    except (OSError, ValueError, KeyError, TypeError) as error:
        return str(error)
    return None
