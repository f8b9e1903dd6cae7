"""The worker side of :mod:`promptstyles.data.build.parallel`: one style and tokenizer per process, and chunks to
tokenize that this process claims before the parent does (or leaves, when the parent claimed them first).

Importing this module does not import torch: a worker sends plain arrays back.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import sys
import threading
from collections.abc import Sequence
from typing import Any

from ...records import InstructionRecord, Record
from ...styles._base import Style
from ..modes import SpecialTokensMode
from ..tokenizers.protocol import Tokenizer
from .encoding import ChunkArrays, encode_chunk

__all__ = ["Recipe", "claim", "init_worker", "recipe_of", "shipped", "start_method", "tokenize_in_worker"]

logger = logging.getLogger(__name__)

Recipe = bytes | tuple[Style, Tokenizer]
"""A style and tokenizer as a worker receives them: pickled, or as objects a forked worker inherits."""


class _InstructionColumns(list[InstructionRecord]):
    """A chunk of instruction records that pickles as three lists of strings.

    Why: pickle rebuilds a frozen dataclass field by field in Python; a chunk of instruction records cost
    about 9 us per record to send to a worker and rebuild there, as much as rendering it, against 1 us as
    columns."""

    def __reduce__(self) -> tuple[Any, ...]:
        return _from_columns, ([record.instruction for record in self], [record.input for record in self],
                               [record.output for record in self])


def _from_columns(instructions: list[str], inputs: list[str], outputs: list[str]) -> list[InstructionRecord]:
    return list(map(InstructionRecord, instructions, inputs, outputs))


def shipped(records: Sequence[Record]) -> Sequence[Record]:
    """``records`` as they are best sent to a worker process: the same records, cheaper to pickle. Only a list
    is looked at: another sequence may pickle its own way (a chunk of a JSONL file pickles as its lines, which
    the worker parses; looking at its records would parse them here)."""
    if type(records) is list and all(type(record) is InstructionRecord for record in records):
        return _InstructionColumns(records)  # type: ignore[arg-type]
    return records


def start_method() -> str:
    """``fork`` on Linux, else ``forkserver`` where there is one, else ``spawn``.

    ``fork`` starts a worker in milliseconds and, unlike ``spawn`` and ``forkserver``, never imports the main
    module again, so a script without an ``if __name__ == "__main__":`` guard does not run twice; it is what
    PyTorch's DataLoader and ``datasets.map(num_proc=...)`` use on Linux. What makes forking after threads
    risky does not reach the workers: they never touch torch or an accelerator, the Rust pool of
    ``tokenizers`` is switched off in them (the library itself disables it in a forked child), and each
    freezes the objects it inherited out of the garbage collector's sight (:func:`gc.freeze`), so the
    parent's records are shared, not copied page by page. On macOS, where ``fork`` is unsafe, and Windows the
    workers come from a fork server or are spawned; a script there must guard its entry point.
    """
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def recipe_of(style: Style, tokenizer: Tokenizer) -> Recipe | None:
    """What a worker rebuilds the style and tokenizer from: the objects themselves when workers are forked
    (they inherit them, so a style class defined anywhere works), else their pickle; None (with a warning)
    when they do not pickle."""
    if start_method() == "fork":
        return (style, tokenizer)
    try:
        return pickle.dumps((style, tokenizer), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # PicklingError, AttributeError, TypeError: whatever the object raises
        logger.warning("style %r or tokenizer %r cannot be sent to worker processes (%s: %s); tokenizing in this "
                       "process (define the style class at the top level of an importable module to use "
                       "num_proc)", style.name, tokenizer.name, type(error).__name__, error)
        return None



_worker: dict[str, Any] = {}
"""A worker process's style and tokenizer, or the reason it could not rebuild them."""


def _exit_with_parent() -> None:
    """End this worker as soon as the process that started it ends, even when it was killed outright.

    A worker waiting for its next chunk would otherwise wait forever: it holds both ends of the task queue,
    and the fork server it came from stays up while its children hold the server's liveness pipe.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def init_worker(recipe: Recipe, claims: Any, lock: Any) -> None:
    """Rebuild the style and tokenizer once per worker; a failure is kept and reported by every task."""
    gc.freeze()  # inherited objects (the parent's records) stay shared pages: no collection touches them
    _exit_with_parent()
    _worker["claims"], _worker["lock"] = claims, lock
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one process per core already
    try:
        _worker["style"], _worker["tokenizer"] = pickle.loads(recipe) if isinstance(recipe, bytes) else recipe
    except Exception as error:
        _worker["failure"] = f"{type(error).__name__}: {error}"


def claim(claims: Any, lock: Any, slot: int) -> bool:
    """Claim a chunk for the process that calls this; False when another process claimed it first."""
    with lock:
        if claims[slot]:
            return False
        claims[slot] = 1
        return True


def tokenize_in_worker(
    slot: int, records: Sequence[Record], first_index: int, special_tokens: SpecialTokensMode, source: str | None,
) -> ChunkArrays | str | None:
    """One chunk; None when the parent claimed it first; the reason when the worker could not rebuild the style
    or tokenizer."""
    if "failure" in _worker:
        return _worker["failure"]
    if not claim(_worker["claims"], _worker["lock"], slot):
        return None
    return encode_chunk(records, _worker["style"], _worker["tokenizer"], special_tokens=special_tokens,
                          first_index=first_index, source=source)
