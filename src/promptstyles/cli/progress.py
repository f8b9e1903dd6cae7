"""Progress on stderr for the command line: tqdm bars fed by the library's progress callbacks."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["ProgressBars"]


class ProgressBars:
    """One tqdm bar on stderr per run phase of a comparison, and for building a dataset's tokens."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.key: tuple[Any, ...] = ()

    def _show(self, key: tuple[Any, ...], description: str, done: int, total: int, **style: Any) -> None:
        from tqdm import tqdm

        if key != self.key:
            self.close()
            self.bar = tqdm(total=total, desc=description, file=sys.stderr, mininterval=0.5, **style)
            self.key = key
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar, self.key = None, ()

    def __call__(self, event: Any) -> None:
        label = f"[{event.index}/{event.runs}] {event.run}"
        if event.phase in ("resumed", "static"):
            self.close()
            print(f"{label}: {'finished earlier, reused' if event.phase == 'resumed' else 'static statistics'}",
                  file=sys.stderr)
        elif event.phase in ("train", "generate"):
            self._show((event.index, event.phase), f"{label} {event.phase}", event.done, event.total)

    def records(self, done: int, total: int) -> None:
        """The ``progress`` callback of building a dataset: records rendered and tokenized so far."""
        self._show(("records",), "tokenizing records", done, total)

    def file_bytes(self, done: int, total: int) -> None:
        """The ``progress`` callback of a streamed build: bytes of the file read and tokenized so far."""
        self._show(("bytes",), "tokenizing", done, total, unit="B", unit_scale=True, unit_divisor=1024)

    def for_build(self, config: Any) -> Any:
        """The callback that fits how a loaded ``Config`` builds its dataset (streamed: bytes; else records)."""
        return self.file_bytes if config.data.streaming else self.records
