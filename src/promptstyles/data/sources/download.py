"""Downloading records from http(s) URLs, with a cache that is revalidated on every use.

A cached copy is kept with a sidecar holding its SHA-256 and the server's validators (``ETag``,
``Last-Modified``). Each use asks the server with a conditional request whether the file changed (a ``304``
keeps the copy), so a changed file is never served stale; the copy stands in, with a warning, only when the
server cannot be reached. Both files are written atomically and the checksum is verified on every read, so an
interrupted or corrupted download is never mistaken for data. A cache folder that cannot be written is
reported once and the download used as is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..._io import atomic_write_bytes, cache_dir, sweep_temporaries, warn_unwritable
from ...errors import DataError

__all__ = ["fetch_url"]

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 60
Opener = Callable[[urllib.request.Request], Any]


@dataclass(frozen=True)
class _Cached:
    data: bytes
    etag: str | None
    last_modified: str | None


def _cache_name(url: str) -> str:
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    tail = url.rstrip("/").rsplit("/", 1)[-1] or "data"
    return f"{digest}-{tail}"


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".meta.json")


def _read_cached(path: Path) -> _Cached | None:
    """The cached copy at ``path`` if it is there, readable and matches its checksum."""
    try:
        data = path.read_bytes()
        meta = json.loads(_sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        logger.warning("cached download %s does not match its checksum; downloading it again", path)
        return None
    return _Cached(data, meta.get("etag"), meta.get("last_modified"))


def _write_cached(path: Path, data: bytes, headers: Any, folder: Path) -> None:
    meta = {"sha256": hashlib.sha256(data).hexdigest(), "etag": headers.get("ETag"),
            "last_modified": headers.get("Last-Modified")}
    try:
        atomic_write_bytes(path, data)
        atomic_write_bytes(_sidecar(path), json.dumps(meta).encode("utf-8"))
        sweep_temporaries(folder)
    except OSError as error:
        warn_unwritable(folder, error)


def _request(url: str, cached: _Cached | None) -> urllib.request.Request:
    request = urllib.request.Request(url)
    if cached is not None:
        if cached.etag:
            request.add_header("If-None-Match", cached.etag)
        if cached.last_modified:
            request.add_header("If-Modified-Since", cached.last_modified)
    return request


def fetch_url(
    url: str,
    *,
    directory: str | os.PathLike[str] | None = None,
    cache: bool = True,
    opener: Opener | None = None,
) -> bytes:
    """The current content of ``url``: downloaded, or the cached copy when the server says it is unchanged.

    ``cache=False`` always downloads and neither reads nor writes the cache folder.
    """
    folder = cache_dir(directory)
    target = folder / _cache_name(url)
    cached = _read_cached(target) if cache else None
    open_url = opener or (lambda request: urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS))
    logger.info("downloading %s", url)
    try:
        with open_url(_request(url, cached)) as response:
            data = response.read()
            headers = response.headers
    except urllib.error.HTTPError as error:
        if error.code == 304 and cached is not None:
            logger.info("%s is unchanged; using the cached copy %s", url, target)
            return cached.data
        raise DataError(f"cannot download {url}: {error}. Check the URL, or download the file yourself and set "
                        "data.path") from error
    except (urllib.error.URLError, OSError, ValueError) as error:
        if cached is not None:
            logger.warning("cannot reach %s (%s); using the cached copy %s, which may be out of date", url, error,
                           target)
            return cached.data
        raise DataError(
            f"cannot download {url}: {error}. Check the network, or download the file yourself and set data.path"
        ) from error
    if cache:
        _write_cached(target, data, headers, folder)
    return data
