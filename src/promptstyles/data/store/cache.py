"""The key of the tokenized-dataset cache: a dataset is rendered and tokenized once per content.

The key covers everything the tokens depend on: every field of every record, the style (its class, every
constructor option with defaults applied, the distribution that provides it and a hash of the source of each
module its class is built from, a declarative style's whole declaration, and what it renders for fixed probes,
which catches a template file's text or a date taken when the style was built), the tokenizer (name,
vocabulary and the ids it gives the style's markup) and the special-token mode. Masks are not part of an
entry: they are computed from the stored part runs when batches are built. Files read in chunks are keyed by
a hash of their bytes (in blocks, which a cluster's workers may hash) and their loading options instead of
their records (:func:`file_key`), so keying them never holds the records in memory. The entries themselves
live in the store (``store.py``).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ...errors import DataError
from ...records import Conversation, InstructionRecord, Message, Record
from ...styles._base import Style
from ..tokenizers.protocol import Tokenizer
from .entries import FORMAT, load_dataset, save_dataset

__all__ = ["Block", "BlockDigests", "block_digest", "dataset_key", "file_blocks", "file_key", "load_dataset",
           "records_digest", "save_dataset"]

DISTRIBUTION = "promptstyles"


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


def _message_fields(message: Message) -> list[Any]:
    """Every field of a message of a tool or reasoning conversation (arguments as given and as parsed)."""
    calls = [[c.name, c.arguments, c.id, c.arguments_text] for c in message.tool_calls]
    return [message.role, message.content, message.reasoning, calls, message.tool_call_id, message.name]


def records_digest(records: Sequence[Record]) -> str:
    """A hash of every field of every record; one JSON line each, so no field can run into the next."""
    digest = hashlib.blake2b(digest_size=20)
    for record in records:
        if isinstance(record, Conversation) and (record.agentic or record.final_turn_only):
            fields: list[Any] = ["agent conversation", [_message_fields(m) for m in record.messages],
                                 list(record.tools), record.final_turn_only]
        elif isinstance(record, Conversation):
            fields = ["conversation", [[m.role, m.content] for m in record.messages]]
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
    return _key({"records": records_digest(records), "count": len(records)}, style, tokenizer, special_tokens)


def _key(content: Mapping[str, Any], style: Style, tokenizer: Tokenizer, special_tokens: str) -> str:
    identity = {
        "format": FORMAT, "version": _version(), **content, "style": _style_identity(style),
        "tokenizer": _tokenizer_identity(tokenizer, style), "special_tokens": special_tokens,
    }
    return _digest(json.dumps(identity, sort_keys=True).encode())


HASH_BLOCK = 64 << 20
"""Bytes per block of a file's digest: blocks are hashed apart (on a cluster, by its workers) and their
digests hashed in order, so the digest is the same wherever the blocks were hashed."""

Block = tuple[str, int, int]
"""A block of a file: its absolute path, first byte and end (exclusive)."""

BlockDigests = Callable[[list[Block]], list[bytes]]
"""Hashes blocks (:func:`block_digest` each), in order: here, or where the files are read (a cluster)."""


def block_digest(path: str, start: int, end: int) -> bytes:
    """The blake2b digest of bytes ``start`` to ``end`` of a file, read in pieces: memory stays flat."""
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as handle:
        handle.seek(start)
        left = end - start
        while left > 0:
            piece = handle.read(min(left, 1 << 20))
            if not piece:
                raise DataError(f"{path}: shorter than {end} bytes; it changed while it was being read")
            digest.update(piece)
            left -= len(piece)
    return digest.digest()


def file_blocks(path: str | os.PathLike[str]) -> list[Block]:
    """A file's blocks of :data:`HASH_BLOCK` bytes (the last one shorter)."""
    location = str(Path(path).expanduser().resolve())
    size = os.stat(location).st_size
    return [(location, start, min(start + HASH_BLOCK, size)) for start in range(0, size, HASH_BLOCK)]


def _hash_here(blocks: list[Block]) -> list[bytes]:
    return [block_digest(*block) for block in blocks]


def file_key(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], loading: Mapping[str, Any],
             style: Style, tokenizer: Tokenizer, special_tokens: str, digests: BlockDigests | None = None) -> str:
    """A name for the tokenized form of files read in chunks: their bytes, in order, and the ``loading``
    options (format, fields, on_invalid), with the style and tokenizer as in :func:`dataset_key`. ``digests``
    hashes the files' blocks (default: here, one after another)."""
    files = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(path) for path in paths]
    blocks = [file_blocks(file) for file in files]
    hashed = iter((digests or _hash_here)([block for each in blocks for block in each]))
    names = []
    for each in blocks:
        digest = hashlib.blake2b(digest_size=20)
        digest.update(str(each[-1][2] if each else 0).encode())  # the size
        for _ in each:
            digest.update(next(hashed))
        names.append(digest.hexdigest())
    content: dict[str, Any] = {"file": names[0]} if len(names) == 1 else {"files": names}
    content["loading"] = json.dumps(loading, sort_keys=True)
    return _key(content, style, tokenizer, special_tokens)
