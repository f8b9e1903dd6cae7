"""Shards: the other way home for a cluster build's tokens, through storage every node sees.

A worker writes its tokenized chunk as one ``.npz`` file under ``<cache>/shards/<recipe>/`` and sends back only
the file's name; the driver reads the shards one at a time in plan order into the store writer, so it never holds
more than one chunk. A shard is named by what it was made from (the recipe: style, tokenizer and mode, in the
folder's name; the chunk: its first index and a hash of its records), written under a temporary name and
renamed, and checked when read (every array's CRC), so a build that stops half way leaves only whole shards, and
its rerun reuses them instead of tokenizing again. A shard that fails its check is made again.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..._io import atomic_write_bytes
from ...errors import DataError
from ...records import Record
from ...styles._base import Style
from ..store.cache import dataset_key, records_digest
from ..tokenizers.protocol import Tokenizer
from .encoding import ChunkArrays

__all__ = ["encoded_shard", "read_shard", "remove_shards", "shard_folder"]

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
    if not (folder / _MARKER).is_file():
        raise DataError(f"data.cluster.results: this worker cannot see the shard folder {folder}; put "
                        "data.cache_dir on storage every node mounts at the same path, or use results: stream")
    path = folder / f"{first_index:012d}-{records_digest(records)}.npz"
    if path.is_file():
        try:
            read_shard(path)
            logger.info("reusing shard %s", path.name)
            return str(path)
        except DataError as error:
            logger.warning("%s; making it again", error)
    arrays = encode()
    buffer = io.BytesIO()
    named: dict[str, Any] = {name: np.asarray(value) for name, value in arrays._asdict().items()}
    np.savez(buffer, **named)
    atomic_write_bytes(path, buffer.getvalue())
    return str(path)


def read_shard(path: str | Path) -> ChunkArrays:
    """A shard's arrays, every one checked against its CRC; a damaged or partial file is a :class:`DataError`."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            values = {name: stored[name] for name in ChunkArrays._fields}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"shard {path} is damaged or incomplete ({type(error).__name__}: {error}); a rerun of "
                        "the build makes it again") from error
    converted: dict[str, Any] = {name: int(value) if name in _INTS else value for name, value in values.items()}
    return ChunkArrays(**converted)


def remove_shards(folder: Path) -> None:
    """Remove a recipe's shards once every one is in the store; their parent goes too when it is empty."""
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):  # other recipes' shards are still there
        folder.parent.rmdir()
