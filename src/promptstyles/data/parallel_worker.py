"""The worker side of :mod:`promptstyles.data.parallel`: one style and tokenizer per process, and chunks to
tokenize that this process claims before the parent does (or leaves, when the parent claimed them first).

Importing this module does not import torch: a worker sends plain arrays back.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import threading
from collections.abc import Sequence
from typing import Any

from ..records import Record
from ..styles._base import Style
from .encoding import ChunkArrays, encode_chunk
from .modes import SpecialTokensMode
from .tokenizers import Tokenizer

__all__ = ["claim", "init_worker", "recipe_of", "start_method", "tokenize_in_worker"]

logger = logging.getLogger(__name__)

def start_method() -> str:
    """``forkserver`` where there is one, else ``spawn``.

    ``fork`` starts fastest but copies a process that may already run threads (torch's intra-op pool, the Rust
    pool of ``tokenizers``, a DataLoader's pin thread), and a lock held by one of them at the fork stays held
    forever in the child. The fork server is a fresh single-threaded process; each worker forks from it,
    imports what it needs (not torch: it sends plain arrays back) and rebuilds the style and tokenizer from
    their pickles once (``TiktokenTokenizer`` and ``HFTokenizer`` pickle as their name or path). As with any
    ``spawn`` or ``forkserver`` code, a script must guard its entry point with ``if __name__ == "__main__":``
    (workers import the main module).
    """
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def recipe_of(style: Style, tokenizer: Tokenizer) -> bytes | None:
    """The pickled style and tokenizer, or None (with a warning) when either does not pickle."""
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


def init_worker(recipe: bytes, claims: Any, lock: Any) -> None:
    """Rebuild the style and tokenizer once per worker; a failure is kept and reported by every task."""
    _exit_with_parent()
    _worker["claims"], _worker["lock"] = claims, lock
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one process per core already
    try:
        _worker["style"], _worker["tokenizer"] = pickle.loads(recipe)
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
