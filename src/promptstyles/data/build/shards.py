"""Shards: the other way home for a cluster build's tokens, through storage every node sees.

A worker writes its tokenized chunk as one ``.npz`` file under ``<cache>/shards/<recipe>/`` and sends back only
the file's name; the driver reads the shards one at a time in plan order into the store writer, so it never holds
more than one chunk. A shard is named by what it was made from (the recipe: style, tokenizer and mode, in the
folder's name; the chunk: its first index and a hash of its records; a byte range: its file, start and a
hash of its bytes), written under a temporary name and
renamed, and checked when read (every array's CRC), so a build that stops half way leaves only whole shards, and
its rerun reuses them instead of tokenizing again. A shard that fails its check is made again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import shutil
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..._io import atomic_write_bytes
from ...errors import DataError
from ...records import Record
from ...styles._base import Style
from ..sources.ranges import ByteRange, range_bytes_of
from ..store.cache import dataset_key, records_digest
from ..tokenizers.protocol import Tokenizer
from .encoding import ChunkArrays
from .ranged import RangeResult

__all__ = ["encoded_shard", "range_shard", "read_range_shard", "read_shard", "remove_shards", "shard_folder"]

logger = logging.getLogger(__name__)

_MARKER = "shared-storage"
"""Written by the driver in the shard folder: a worker that cannot see it is on storage the driver cannot."""
_INTS = ("eos_id", "vocab_size")


def shard_folder(root: Path, style: Style, tokenizer: Tokenizer, special_tokens: str) -> Path:
    """The folder of one recipe's shards under ``root`` (the store's folder), made and marked for the workers."""
    folder = root.resolve() / "shards" / dataset_key([], style, tokenizer, special_tokens)[:24]
    atomic_write_bytes(folder / _MARKER, b"promptstyles shards\n")
    return folder


def encoded_shard(folder: Path, records: Sequence[Record], first_index: int,
                  encode: Callable[[], ChunkArrays]) -> str:
    """The path of this chunk's shard in ``folder``: a whole one found there, or one ``encode`` makes now."""
    path = _visible(folder) / f"{first_index:012d}-{records_digest(records)}.npz"
    if not _reusable(path, read_shard):
        _write(path, encode()._asdict())
    return str(path)


def range_shard(folder: Path, byte_range: ByteRange, options: Mapping[str, Any],
                encode: Callable[[], RangeResult]) -> RangeResult | str:
    """The path of this byte range's shard in ``folder`` (named by its file, start, bytes and loading options):
    a whole one found there, or one made now; a range without tokens (no valid record, or one that failed) is
    sent back as it is."""
    digest = hashlib.blake2b(range_bytes_of(byte_range), digest_size=20)
    digest.update(json.dumps(options, sort_keys=True).encode())
    path = _visible(folder) / f"r{byte_range.file:06d}-{byte_range.start:014d}-{digest.hexdigest()}.npz"
    if _reusable(path, read_range_shard):
        return str(path)
    result = encode()
    if result.arrays is None:
        return result
    _write(path, {**result.arrays._asdict(), "range_offsets": result.offsets,
                  "range_counts": np.array([result.lines, result.records, result.skipped])})
    return str(path)


def _visible(folder: Path) -> Path:
    if not (folder / _MARKER).is_file():
        raise DataError(f"data.cluster.results: this worker cannot see the shard folder {folder}; put "
                        "data.cache_dir on storage every node mounts at the same path, or use results: stream")
    return folder


def _reusable(path: Path, read: Callable[[Path], Any]) -> bool:
    """Whether a whole shard is already at ``path`` (a damaged one is made again)."""
    if not path.is_file():
        return False
    try:
        read(path)
    except DataError as error:
        logger.warning("%s; making it again", error)
        return False
    logger.info("reusing shard %s", path.name)
    return True


def _write(path: Path, arrays: Mapping[str, Any]) -> None:
    buffer = io.BytesIO()
    named: dict[str, Any] = {name: np.asarray(value) for name, value in arrays.items()}
    np.savez(buffer, **named)
    atomic_write_bytes(path, buffer.getvalue())


def _load(path: str | Path, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Arrays of a shard, every one checked against its CRC; a damaged or partial file is a :class:`DataError`."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in names}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"shard {path} is damaged or incomplete ({type(error).__name__}: {error}); a rerun of "
                        "the build makes it again") from error


def read_shard(path: str | Path) -> ChunkArrays:
    """A chunk's shard, checked (see :func:`_load`)."""
    values = _load(path, ChunkArrays._fields)
    converted: dict[str, Any] = {name: int(value) if name in _INTS else value for name, value in values.items()}
    return ChunkArrays(**converted)


def read_range_shard(path: str | Path) -> RangeResult:
    """A byte range's shard, checked (see :func:`_load`)."""
    extra = _load(path, ("range_offsets", "range_counts"))
    lines, records, skipped = (int(value) for value in extra["range_counts"])
    return RangeResult(read_shard(path), extra["range_offsets"], lines, records, skipped)


def remove_shards(folder: Path) -> None:
    """Remove a recipe's shards once every one is in the store; their parent goes too when it is empty."""
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):  # other recipes' shards are still there
        folder.parent.rmdir()
