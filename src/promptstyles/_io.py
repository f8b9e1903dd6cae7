"""File output shared by the caches and reports: the cache folder, atomic writes, and stale temporaries.

Every file is written through a temporary beside it and a rename, so a reader sees the old file or the whole
new one. A writer killed between the two leaves its temporary behind; :func:`sweep_temporaries` removes
those once they are old enough that no live writer can still own them.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

__all__ = ["CACHE_ENV", "atomic_write_bytes", "cache_dir", "sweep_temporaries", "warn_unwritable"]

logger = logging.getLogger(__name__)

CACHE_ENV = "PROMPTSTYLES_CACHE_DIR"
TEMPORARY_SUFFIX = ".tmp"
STALE_AFTER_SECONDS = 15 * 60
"""A temporary untouched this long belongs to a writer that died: a live one writes it in one go."""

_warned: set[str] = set()


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Where caches are kept: ``override``, ``$PROMPTSTYLES_CACHE_DIR``, or the user cache folder."""
    if override is not None:
        return Path(override).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "promptstyles"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes files private; these are ordinary outputs
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise



def sweep_temporaries(folder: Path, *, stale_after: float = STALE_AFTER_SECONDS) -> list[tuple[Path, int]]:
    """Remove abandoned temporaries in ``folder``; returns the ones kept (path, size), still being written."""
    now = time.time()
    kept: list[tuple[Path, int]] = []
    for path in folder.glob(f".*{TEMPORARY_SUFFIX}"):
        try:
            stat = path.stat()
            if now - stat.st_mtime > stale_after:
                path.unlink()
                logger.info("removed %s, left behind by an interrupted write", path)
            else:
                kept.append((path, stat.st_size))
        except FileNotFoundError:  # finished or removed by another process meanwhile
            continue
    return kept


def warn_unwritable(folder: Path, error: OSError) -> None:
    """Say once per folder that a cache cannot be written there; the caller goes on without it."""
    key = str(folder)
    if key in _warned:
        logger.debug("cache folder %s is still unwritable: %s", folder, error)
        return
    _warned.add(key)
    logger.warning("cannot write to the cache folder %s (%s); going on without the cache. Set data.cache_dir "
                   "or $%s to a writable folder, or data.cache: false", folder, error, CACHE_ENV)
