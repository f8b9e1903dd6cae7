"""Progress bars on stderr (tqdm) for work a person waits on: building a dataset's tokens, and each run of a
comparison, phase by phase, seed by seed.

A bar appears only once its work has taken a second, so a build served from the cache or a tiny dataset draws
nothing, and only the main process of a torchrun job draws.
"""

from __future__ import annotations

import sys
from typing import Any

from .distributed import is_main_process

__all__ = ["ProgressBars", "default_progress"]

DELAY_SECONDS = 1.0
"""Work shorter than this shows no bar: a bar drawn once, at 100%, tells a person nothing."""


class ProgressBars:
    """One tqdm bar on stderr per run phase of a comparison, and for building a dataset's tokens."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.key: tuple[Any, ...] = ()
        self.enabled = is_main_process()

    def _show(self, key: tuple[Any, ...], description: str, done: int, total: int, **style: Any) -> None:
        from tqdm import tqdm

        if not self.enabled:
            return
        if key != self.key:
            self.close()
            self.bar = tqdm(total=total, desc=description, file=sys.stderr, mininterval=0.5, delay=DELAY_SECONDS,
                            **style)
            self.key = key
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar, self.key = None, ()

    def __call__(self, event: Any) -> None:
        """The ``progress`` callback of :func:`promptstyles.compare`."""
        label = f"[{event.index}/{event.runs}] {event.run}"
        if getattr(event, "seed", None) is not None:
            label += f" seed {event.seed}"
        if event.phase in ("resumed", "static") and self.enabled:
            from tqdm import tqdm

            self.close()
            tqdm.write(f"{label}: {'finished earlier, reused' if event.phase == 'resumed' else 'static statistics'}",
                       file=sys.stderr)
        elif event.phase in ("train", "generate"):
            self._show((event.index, event.phase, getattr(event, "seed", None)), f"{label} {event.phase}",
                       event.done, event.total)

    def records(self, done: int, total: int) -> None:
        """The ``progress`` callback of building a dataset: records rendered and tokenized so far."""
        self._show(("records",), "tokenizing records", done, total)

    def file_bytes(self, done: int, total: int) -> None:
        """The ``progress`` callback of a streamed build: bytes of the file read and tokenized so far."""
        self._show(("bytes",), "tokenizing", done, total, unit="B", unit_scale=True, unit_divisor=1024)

    def for_build(self, config: Any) -> Any:
        """The callback that fits how a loaded ``Config`` builds its dataset (streamed: bytes; else records)."""
        return self.file_bytes if config.data.streaming else self.records


def default_progress(progress: Any) -> Any:
    """``progress`` as a caller gave it: ``True`` means bars when stderr is a terminal, ``False`` or ``None`` none,
    and a callable is used as it is."""
    if progress is True:
        return ProgressBars() if sys.stderr.isatty() else None
    return progress or None
