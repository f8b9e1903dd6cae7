"""Checksums of a store's files, and the record that lets a load skip hashing a token file that has not changed.

Hashing every token on every load would cost a third of a second per 200 MiB (see
``benchmarks/RESULTS-store.md``), paid by every run, DataLoader worker and rank. Instead a token file is hashed
whole (blake2b over the memory map) whenever it is not the file last found whole and sound, and only sampled
otherwise. "The same file" is its size, modification and change times (nanoseconds) and inode, kept in
``verified.json`` beside it: writing to the file in place changes its change time, which no program can set
back, and replacing it changes its inode. The record is written atomically (readers see the old record or the
new one) by the writer at commit and by any load that hashed the file whole; where it cannot be written (a
read-only cache) every load hashes the file whole.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
from pathlib import Path
from typing import Any

import numpy as np

from ..._io import atomic_write_bytes

__all__ = ["BLOCK_BYTES", "SAMPLE_BLOCKS", "VERIFIED", "checksum", "new_digest", "file_stamp", "is_verified",
           "mark_verified"]

logger = logging.getLogger(__name__)

SAMPLE_BLOCKS = 64
BLOCK_BYTES = 1 << 16
VERIFIED = "verified.json"


def new_digest() -> Any:
    return hashlib.blake2b(digest_size=20)


def checksum(path: Path, size: int, *, sample: bool = False) -> str:
    """A hash of a file, or with ``sample`` of blocks spread over it (all of it when it is small); the file is
    mapped, not read into memory."""
    hashed = new_digest()
    if size:
        with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            view = memoryview(mapped)
            try:
                if not sample or size <= SAMPLE_BLOCKS * BLOCK_BYTES:
                    hashed.update(view)
                else:
                    for offset in np.linspace(0, size - BLOCK_BYTES, SAMPLE_BLOCKS).astype(np.int64):
                        hashed.update(view[int(offset) : int(offset) + BLOCK_BYTES])
            finally:
                view.release()
    return str(hashed.hexdigest())


def file_stamp(path: Path) -> str:
    """What tells one state of a file from another without reading it: its size, modification and change
    times (ns) and inode, hashed (so the record has one size wherever it is written)."""
    status = path.stat()
    stamp = (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino)
    return str(hashlib.blake2b(repr(stamp).encode(), digest_size=20).hexdigest())


def is_verified(file: Path, expected: str) -> bool:
    """Whether ``file`` is, by its stamp, the file last hashed whole to ``expected``."""
    try:
        record = json.loads((file.parent / VERIFIED).read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record.get(file.name) == {"checksum": expected, "stamp": file_stamp(file)}


def mark_verified(file: Path, expected: str, stamp: str) -> None:
    """Record that ``file`` in the state ``stamp`` hashed whole to ``expected`` (a failed write is only logged:
    the next load hashes it whole again)."""
    record = {file.name: {"checksum": expected, "stamp": stamp}}
    try:
        atomic_write_bytes(file.parent / VERIFIED, json.dumps(record).encode())
    except OSError as error:
        logger.debug("cannot record %s as verified: %s", file, error)
