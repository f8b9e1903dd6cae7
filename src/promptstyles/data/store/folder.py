"""The folder of dataset store entries: listing, removing, and keeping it under its size limit.

Entries are folders named by their key; names starting with a dot are temporaries of writes in progress
(or of writers that died). The least recently used entry (the one whose ``meta.json`` was touched last) goes
first when the folder is over ``$PROMPTSTYLES_DATASET_CACHE_BYTES`` (2 GiB by default).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..._io import STALE_AFTER_SECONDS, TEMPORARY_SUFFIX

__all__ = ["MAX_BYTES_ENV", "META", "StoreEntry", "list_entries", "meta_checksum", "prune", "read_meta",
           "remove_entries"]

logger = logging.getLogger(__name__)

META = "meta.json"
MAX_BYTES_ENV = "PROMPTSTYLES_DATASET_CACHE_BYTES"
DEFAULT_MAX_BYTES = 2 << 30


def meta_checksum(meta: Mapping[str, Any]) -> str:
    return hashlib.blake2b(json.dumps(meta, sort_keys=True).encode(), digest_size=20).hexdigest()


def read_meta(path: Path) -> dict[str, Any]:
    """An entry's metadata, checked against its own checksum; raises ValueError when it does not match."""
    stored = json.loads((path / META).read_bytes())
    meta = stored["meta"]
    if stored.get("checksum") != meta_checksum(meta):
        raise ValueError("its metadata does not match its checksum")
    return dict(meta)


def _usage(path: Path) -> tuple[int, float]:
    """Bytes under ``path`` and the newest modification time there (a folder's own time stays at its
    creation while its files grow)."""
    if not path.is_dir():
        stat = path.stat()
        return stat.st_size, stat.st_mtime
    size, newest = 0, path.stat().st_mtime
    for child in path.iterdir():
        try:
            stat = child.stat()
        except FileNotFoundError:
            continue
        size += stat.st_size
        newest = max(newest, stat.st_mtime)
    return size, newest


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@dataclass(frozen=True)
class StoreEntry:
    """One entry as ``promptstyles cache list`` shows it; ``meta`` is None when it cannot be read."""

    key: str
    path: Path
    size: int
    last_used: float
    meta: dict[str, Any] | None


def list_entries(folder: Path) -> list[StoreEntry]:
    """The entries in ``folder``, most recently used first (older formats' single files included)."""
    entries = []
    for path in folder.iterdir() if folder.is_dir() else ():
        if path.name.startswith("."):
            continue
        try:
            size, _ = _usage(path)
        except FileNotFoundError:  # removed by another process meanwhile
            continue
        try:
            used = (path / META).stat().st_mtime if path.is_dir() else path.stat().st_mtime
        except FileNotFoundError:  # a folder without metadata: used least recently
            used = 0.0
        try:
            meta: dict[str, Any] | None = read_meta(path)
        except (OSError, ValueError, KeyError, TypeError):
            meta = None
        entries.append(StoreEntry(path.name.split(".")[0], path, size, used, meta))
    return sorted(entries, key=lambda entry: (-entry.last_used, entry.key))


def remove_entries(folder: Path, keys: Iterable[str] | None = None) -> list[str]:
    """Remove the entries named by ``keys`` (all of them, temporaries too, when None); returns the keys removed."""
    wanted = None if keys is None else set(keys)
    removed = []
    for entry in list_entries(folder):
        if wanted is None or entry.key in wanted:
            _remove(entry.path)
            removed.append(entry.key)
    if wanted is None and folder.is_dir():
        for path in folder.glob(f".*{TEMPORARY_SUFFIX}"):
            _remove(path)
    return removed


def _sweep(folder: Path) -> int:
    """Remove abandoned temporaries; returns the bytes of those still being written."""
    now = time.time()
    live = 0
    for path in folder.glob(f".*{TEMPORARY_SUFFIX}"):
        try:
            size, newest = _usage(path)
        except FileNotFoundError:  # finished or removed meanwhile
            continue
        if now - newest > STALE_AFTER_SECONDS:
            _remove(path)
            logger.info("removed %s, left behind by an interrupted write", path)
        else:
            live += size
    return live


def prune(folder: Path, *, keep: Path) -> None:
    """Remove stale temporaries, then the least recently used entries while the folder is over its limit.

    Temporaries still being written count towards the limit, so parallel builds cannot overfill the folder.
    """
    limit = int(os.environ.get(MAX_BYTES_ENV, DEFAULT_MAX_BYTES))
    total = _sweep(folder)
    entries = list_entries(folder)
    total += sum(entry.size for entry in entries)
    for entry in sorted(entries, key=lambda entry: entry.last_used):
        if total <= limit:
            break
        if entry.path != keep:
            _remove(entry.path)
            total -= entry.size
            logger.info("removed %s from the dataset cache (over %d bytes)", entry.path.name, limit)
