"""Reading records from JSON or JSONL files and http(s) URLs, and validating every one of them.

Downloads land in a cache, written atomically (a temporary file, then a rename) with a SHA-256 sidecar
that is checked on every read, so an interrupted or corrupted download is never mistaken for data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DataError, RecordError
from ..records import Record, to_record

__all__ = ["LoadedRecords", "atomic_write_bytes", "cache_dir", "fetch_url", "load_records", "read_raw"]

logger = logging.getLogger(__name__)

CACHE_ENV = "PROMPTSTYLES_CACHE_DIR"


@dataclass(frozen=True)
class LoadedRecords:
    """Validated records, where they came from, and the records skipped (index, reason)."""

    records: list[Record]
    source: str
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Where downloads are kept: ``override``, ``$PROMPTSTYLES_CACHE_DIR``, or the user cache folder."""
    if override is not None:
        return Path(override).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "promptstyles"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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


def _cache_name(url: str) -> str:
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    tail = url.rstrip("/").rsplit("/", 1)[-1] or "data"
    return f"{digest}-{tail}"


def _verified(path: Path) -> bytes | None:
    sidecar = path.with_name(path.name + ".sha256")
    if not path.exists() or not sidecar.exists():
        return None
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sidecar.read_text(encoding="ascii").strip():
        logger.warning("cached download %s does not match its checksum; downloading it again", path)
        return None
    return data


def fetch_url(
    url: str,
    *,
    directory: str | os.PathLike[str] | None = None,
    opener: Callable[[str], Any] | None = None,
) -> Path:
    """The local, verified copy of ``url``, downloading it into the cache when needed."""
    target = cache_dir(directory) / _cache_name(url)
    if _verified(target) is not None:
        return target
    open_url = opener or (lambda address: urllib.request.urlopen(address, timeout=60))
    logger.info("downloading %s", url)
    try:
        with open_url(url) as response:
            data = response.read()
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise DataError(
            f"cannot download {url}: {error}. Check the network, or download the file yourself and set data.path"
        ) from error
    atomic_write_bytes(target, data)
    atomic_write_bytes(target.with_name(target.name + ".sha256"), hashlib.sha256(data).hexdigest().encode("ascii"))
    return target


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{source}: not UTF-8 text (invalid byte at offset {error.start})") from error


def _json_error(source: str, error: json.JSONDecodeError, line_offset: int = 0) -> DataError:
    return DataError(f"{source}: invalid JSON at line {error.lineno + line_offset}, column {error.colno}: {error.msg}")


def read_raw(path: str | os.PathLike[str], *, format: str = "auto") -> list[Any]:
    """The raw records of a JSON array or JSONL file, before validation."""
    source = str(path)
    try:
        data = Path(path).expanduser().read_bytes()
    except FileNotFoundError:
        raise DataError(f"{source}: file not found") from None
    except OSError as error:
        raise DataError(f"{source}: cannot read: {error}") from error
    text = _decode(data, source)
    if format == "auto":
        lowered = source.lower()
        if lowered.endswith((".jsonl", ".ndjson")):
            format = "jsonl"
        elif lowered.endswith(".json") or text.lstrip().startswith("["):
            format = "json"
        else:
            format = "jsonl"
    if format == "json":
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as error:
            if error.msg == "Extra data" and text.lstrip().startswith("{"):
                return read_raw(path, format="jsonl")  # JSON Lines in a .json file
            raise _json_error(source, error) from error
        if not isinstance(loaded, list):
            raise DataError(f"{source}: expected a JSON array of records, got a JSON {type(loaded).__name__}")
        return loaded
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise _json_error(source, error, number - 1) from error
    return records


def load_records(
    source: str | os.PathLike[str] | None = None,
    *,
    format: str = "auto",
    fields: Mapping[str, str] | None = None,
    on_invalid: str = "error",
    cache: str | os.PathLike[str] | None = None,
) -> LoadedRecords:
    """Read, normalise and validate every record of a file or URL (the reference dataset by default).

    ``on_invalid="skip"`` drops bad records and reports how many (each reason is logged); the default
    raises a :class:`RecordError` naming the first bad record's index and key.
    """
    if source is None:
        from ..config import REFERENCE_DATA_URL

        source = REFERENCE_DATA_URL
    label = str(source)
    if label.startswith(("http://", "https://")):
        path: str | os.PathLike[str] = fetch_url(label, directory=cache)
        if format == "auto" and label.lower().endswith((".jsonl", ".ndjson")):
            format = "jsonl"
    else:
        path = source
    raw = read_raw(path, format=format)
    if not raw:
        raise DataError(f"{label}: the dataset has no records")
    records: list[Record] = []
    skipped: list[tuple[int, str]] = []
    for index, item in enumerate(raw):
        try:
            records.append(to_record(item, index=index, fields=fields, source=label))
        except RecordError as error:
            if on_invalid != "skip":
                raise
            skipped.append((index, str(error)))
            logger.warning("skipping %s: %s", label, error)
    if skipped:
        logger.warning("%s: skipped %d invalid record(s) of %d", label, len(skipped), len(raw))
    if not records:
        raise DataError(f"{label}: every record is invalid ({len(skipped)} skipped)")
    return LoadedRecords(records, label, skipped)
