"""An on-disk cache of tokenized datasets: a dataset is rendered and tokenized once per content.

The key covers everything the tokens depend on: the records' text, the style (its class, options and the
file it is defined in, so an edited style is rebuilt), the tokenizer and the special-token mode. Entries
are written atomically and carry a checksum of their arrays that is checked on every read; a damaged or
stale entry is rebuilt, never used. The folder keeps under ``$PROMPTSTYLES_DATASET_CACHE_BYTES`` (2 GiB by
default) by removing the least recently used entries.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..records import Conversation, Record
from ..styles._base import Style
from .loading import atomic_write_bytes, cache_dir
from .tokenized import TokenizedDataset

__all__ = ["dataset_key", "load_dataset", "save_dataset"]

logger = logging.getLogger(__name__)

FORMAT = 1
MAX_BYTES_ENV = "PROMPTSTYLES_DATASET_CACHE_BYTES"
DEFAULT_MAX_BYTES = 2 << 30
_ARRAYS = ("tokens", "starts", "lengths", "run_ends", "run_kinds", "run_offsets")


def _style_identity(style: Style) -> dict[str, Any]:
    cls = type(style)
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    modified = os.stat(path).st_mtime_ns if path and os.path.exists(path) else None
    return {"class": f"{cls.__module__}.{cls.__qualname__}", "file": path, "modified": modified,
            "options": repr(sorted(style.options.items())), "declaration": getattr(cls, "declaration", None)}


def _records_digest(records: Sequence[Record]) -> str:
    pieces: list[str] = []
    for record in records:
        if isinstance(record, Conversation):
            pieces.append("\x1e".join(f"{m.role}\x1f{m.content}" for m in record.messages))
        else:
            pieces.append(f"{record.instruction}\x1f{record.input}\x1f{record.output}")
    return hashlib.blake2b("\x1d".join(pieces).encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


def dataset_key(records: Sequence[Record], style: Style, tokenizer: Any, special_tokens: str) -> str:
    """A name for the tokenized form of ``records`` under this style and tokenizer."""
    from .. import __version__

    identity = {
        "format": FORMAT, "version": __version__, "records": _records_digest(records), "count": len(records),
        "style": _style_identity(style), "tokenizer": repr(tokenizer), "special_tokens": special_tokens,
    }
    return hashlib.blake2b(json.dumps(identity, sort_keys=True).encode(), digest_size=20).hexdigest()


def _path(key: str, directory: str | os.PathLike[str] | None) -> Path:
    return cache_dir(directory) / "datasets" / f"{key}.npz"


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.blake2b(digest_size=20)
    for name in _ARRAYS:
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()


def save_dataset(dataset: TokenizedDataset, key: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """Write ``dataset`` under ``key`` (atomically); returns the file."""
    arrays = {name: getattr(dataset, name) for name in _ARRAYS}
    meta = {"key": key, "eos_id": dataset.eos_id, "vocab_size": dataset.vocab_size, "checksum": _checksum(arrays)}
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    path = _path(key, directory)
    atomic_write_bytes(path, buffer.getvalue())
    _prune(path.parent, keep=path)
    return path


def _prune(folder: Path, *, keep: Path) -> None:
    """Remove the least recently used entries while the folder is over its size limit (2 GiB by default)."""
    limit = int(os.environ.get(MAX_BYTES_ENV, DEFAULT_MAX_BYTES))
    entries = []
    for entry in folder.glob("*.npz"):
        try:
            stat = entry.stat()
        except FileNotFoundError:  # removed by another process meanwhile
            continue
        entries.append((stat.st_mtime, stat.st_size, entry))
    total = sum(size for _, size, _ in entries)
    for _, size, entry in sorted(entries):
        if total <= limit:
            break
        if entry != keep:
            entry.unlink(missing_ok=True)
            total -= size
            logger.info("removed %s from the dataset cache (over %d bytes)", entry.name, limit)


def load_dataset(key: str, directory: str | os.PathLike[str] | None = None) -> TokenizedDataset | None:
    """The cached dataset for ``key``, or None when it is missing, stale or fails verification."""
    path = _path(key, directory)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(bytes(stored["meta"]).decode())
            arrays = {name: stored[name] for name in _ARRAYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        logger.warning("ignoring unreadable dataset cache %s: %s", path, error)
        return None
    if meta.get("key") != key or meta.get("checksum") != _checksum(arrays):
        logger.warning("ignoring dataset cache %s: it does not match its checksum", path)
        return None
    os.utime(path)  # recently used: pruned last
    logger.info("loaded tokenized dataset from %s", path)
    return TokenizedDataset(*(arrays[name] for name in _ARRAYS), eos_id=int(meta["eos_id"]),
                            vocab_size=int(meta["vocab_size"]))
