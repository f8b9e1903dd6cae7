"""Which store entry a build used, so a command can say where the tokens are and check them whole."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StoreUse"]


@dataclass(frozen=True)
class StoreUse:
    """A build's entry: its key in the cache folder ``directory``, and whether it was found rather than built."""

    key: str
    directory: str | None
    found: bool
