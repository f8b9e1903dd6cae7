"""``benchmarks/RESULTS.md`` holds several scripts' results, each in a region of its own.

A region sits between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``; a script rewrites its region and keeps
the others as they are, so running one benchmark never erases another's figures. The file is written
atomically.
"""

from __future__ import annotations

import re
from pathlib import Path

from promptstyles._io import atomic_write_bytes

__all__ = ["read_region", "write_region"]


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"<!-- {re.escape(name)}:begin -->\n(.*?)<!-- {re.escape(name)}:end -->\n?", re.S)


def read_region(path: Path, name: str) -> str | None:
    """The text of region ``name`` in ``path``, or None when the file or the region is missing."""
    if not path.is_file():
        return None
    found = _pattern(name).search(path.read_text(encoding="utf-8"))
    return None if found is None else found.group(1)


def write_region(path: Path, name: str, text: str) -> None:
    """Replace region ``name`` of ``path`` by ``text`` (appended as a new region when there is none)."""
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    block = f"<!-- {name}:begin -->\n{text.rstrip()}\n<!-- {name}:end -->\n"
    pattern = _pattern(name)
    if pattern.search(old):
        new = pattern.sub(lambda _: block, old, count=1)
    else:
        new = (old.rstrip("\n") + "\n\n" if old.strip() else "") + block
    atomic_write_bytes(path, new.encode("utf-8"))
