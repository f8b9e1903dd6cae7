"""An on-disk cache of tokenized datasets: a dataset is rendered and tokenized once per content.

The key covers everything the tokens depend on: every field of every record, the style (its class, every
constructor option with defaults applied, the distribution that provides it and a hash of the source of each
module its class is built from, a declarative style's whole declaration, and what it renders for fixed probes,
which catches a template file's text or a date taken when the style was built), the tokenizer (name,
vocabulary and the ids it gives the style's markup) and the special-token mode. Masks are not part of an
entry: they are computed from the stored part runs when batches are built. Entries are written atomically and
carry a checksum of their arrays that is checked on every read; a damaged or stale entry is rebuilt, never
used. The folder keeps under ``$PROMPTSTYLES_DATASET_CACHE_BYTES`` (2 GiB by default), temporaries of
interrupted writes included, by removing the least recently used entries. A folder that cannot be written is
reported once and the run goes on uncached.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import io
import json
import logging
import os
import sys
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write_bytes, cache_dir, sweep_temporaries, warn_unwritable
from ..records import Conversation, InstructionRecord, Message, Record
from ..styles._base import Style
from .tokenized import TokenizedDataset
from .tokenizers import Tokenizer

__all__ = ["dataset_key", "load_dataset", "save_dataset"]

logger = logging.getLogger(__name__)

FORMAT = 2
DISTRIBUTION = "promptstyles"
MAX_BYTES_ENV = "PROMPTSTYLES_DATASET_CACHE_BYTES"
DEFAULT_MAX_BYTES = 2 << 30
_ARRAYS = ("tokens", "starts", "lengths", "run_ends", "run_kinds", "run_offsets")


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


@functools.lru_cache(maxsize=1)
def _distributions() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _distribution(module_name: str) -> str | None:
    """``name==version`` of the installed distribution that provides ``module_name``, if any."""
    for name in _distributions().get(module_name.partition(".")[0], ()):
        try:
            return f"{name}=={importlib.metadata.version(name)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _source_digest(module_name: str) -> str | None:
    """A hash of a module's source file, so an edited style is rebuilt whatever the file's dates say."""
    path = getattr(sys.modules.get(module_name), "__file__", None)
    if not path:
        return None
    try:
        return _digest(Path(path).read_bytes())
    except OSError:
        return None


def _style_identity(style: Style) -> dict[str, Any]:
    cls = type(style)
    modules = sorted({klass.__module__ for klass in cls.__mro__ if issubclass(klass, Style)})
    return {
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "sources": {name: [_distribution(name), _source_digest(name)] for name in modules},
        "options": repr(sorted(style.resolved_options.items())),
        "declaration": getattr(cls, "declaration", None),
        "renders": _probe_renders(style),
    }


_PROBES: tuple[Record, ...] = (
    InstructionRecord("Probe instruction.", "Probe input.", "Probe answer."),
    Conversation((Message("system", "Probe system."), Message("user", "Probe one."), Message("assistant", "A."),
                  Message("user", "Probe two."), Message("assistant", "B."))),
)


def _probe_renders(style: Style) -> list[str]:
    """What the style writes for fixed probes: catches state that options do not show (a template file's text,
    a date taken when the style was built)."""
    renders = []
    for probe in _PROBES:
        try:
            renders.append(style.render(probe).text)
        except Exception as error:  # a style that refuses a probe: its refusal is part of what it is
            renders.append(f"{type(error).__name__}: {error}")
    return renders


def _tokenizer_identity(tokenizer: Tokenizer, style: Style) -> dict[str, Any]:
    """What a tokenizer contributes to the ids: its encoding, and which of the style's markup are special ids."""
    return {
        "class": f"{type(tokenizer).__module__}.{type(tokenizer).__qualname__}", "name": tokenizer.name,
        "vocab_size": tokenizer.vocab_size, "eos_id": tokenizer.eos_id,
        "special_ids": [[token, tokenizer.special_id(token)] for token in style.special_tokens],
    }


def _records_digest(records: Sequence[Record]) -> str:
    """A hash of every field of every record; one JSON line each, so no field can run into the next."""
    digest = hashlib.blake2b(digest_size=20)
    for record in records:
        if isinstance(record, Conversation):
            fields: list[Any] = ["conversation", [[m.role, m.content] for m in record.messages]]
        else:
            fields = ["instruction", record.instruction, record.input, record.output]
        digest.update(json.dumps(fields, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n")
    return digest.hexdigest()


def _version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def dataset_key(records: Sequence[Record], style: Style, tokenizer: Tokenizer, special_tokens: str) -> str:
    """A name for the tokenized form of ``records`` under this style and tokenizer."""
    identity = {
        "format": FORMAT, "version": _version(), "records": _records_digest(records), "count": len(records),
        "style": _style_identity(style), "tokenizer": _tokenizer_identity(tokenizer, style),
        "special_tokens": special_tokens,
    }
    return _digest(json.dumps(identity, sort_keys=True).encode())


def _path(key: str, directory: str | os.PathLike[str] | None) -> Path:
    return cache_dir(directory) / "datasets" / f"{key}.npz"


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.blake2b(digest_size=20)
    for name in _ARRAYS:
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def save_dataset(
    dataset: TokenizedDataset, key: str, directory: str | os.PathLike[str] | None = None
) -> Path | None:
    """Write ``dataset`` under ``key`` (atomically); returns the file, or None when the folder is unwritable."""
    arrays = {name: getattr(dataset, name) for name in _ARRAYS}
    meta = {"key": key, "eos_id": dataset.eos_id, "vocab_size": dataset.vocab_size, "checksum": _checksum(arrays)}
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    path = _path(key, directory)
    try:
        atomic_write_bytes(path, buffer.getvalue())
        _prune(path.parent, keep=path)
    except OSError as error:
        warn_unwritable(cache_dir(directory), error)
        return None
    return path


def _prune(folder: Path, *, keep: Path) -> None:
    """Remove stale temporaries, then the least recently used entries while the folder is over its limit.

    Temporaries still being written count towards the limit, so parallel builds cannot overfill the folder.
    """
    limit = int(os.environ.get(MAX_BYTES_ENV, DEFAULT_MAX_BYTES))
    total = sum(size for _, size in sweep_temporaries(folder))
    entries = []
    for entry in folder.glob("*.npz"):
        try:
            stat = entry.stat()
        except FileNotFoundError:  # removed by another process meanwhile
            continue
        entries.append((stat.st_mtime, stat.st_size, entry))
    total += sum(size for _, size, _ in entries)
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
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(bytes(stored["meta"]).decode())
            arrays = {name: stored[name] for name in _ARRAYS}
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        logger.warning("ignoring unreadable dataset cache %s: %s", path, error)
        return None
    if meta.get("key") != key or meta.get("checksum") != _checksum(arrays):
        logger.warning("ignoring dataset cache %s: it does not match its checksum", path)
        return None
    try:
        os.utime(path)  # recently used: pruned last
    except OSError as error:  # a read-only cache still serves its entries
        logger.debug("cannot mark %s as recently used: %s", path, error)
    logger.info("loaded tokenized dataset from %s", path)
    return TokenizedDataset(*(arrays[name] for name in _ARRAYS), eos_id=int(meta["eos_id"]),
                            vocab_size=int(meta["vocab_size"]))
