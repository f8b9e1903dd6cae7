"""Tokenizing in worker processes: :func:`tokenize_chunks` spread over ``num_proc`` processes, in order.

``num_proc`` counts this process too: ``num_proc=2`` starts one worker. Chunks go to the workers, two per
worker in flight; whenever it would otherwise wait, this process tokenizes the next chunk of the input, or
one no worker has started (a claim flag per chunk in shared memory, so no chunk is tokenized twice; see
``_Pool._work_here``). Datasets come back in input order and the input is pulled lazily, so memory stays
bounded on a stream of any length and a consumer (a token store appending chunks) sees exactly what the
serial build yields. While workers start, this process is already tokenizing.

Why processes: tiktoken holds the GIL in our piece-wise encoder (a Python segment cache) and rendering is
Python, so threads would not help. Hugging Face ``tokenizers`` encode a batch on a Rust thread pool
already; in worker processes that pool is switched off (``TOKENIZERS_PARALLELISM=false``) so that processes
do not each start one thread per core.

Workers are forked on Linux (see :func:`~.worker.start_method` for why, and what other platforms
do), rebuild the style and tokenizer from their pickles once, and exit when the parent does.

``"auto"`` means one process per usable core for every tokenizer: a Rust pool keeps the cores busy only while
it encodes, reading and rendering are Python under one GIL (1,000,000 records with Llama-3's tokenizer on 2
cores: 41 s against 50 s). With one process, a tokenizer that says ``encodes_on_all_cores`` renders the next
chunk while Rust encodes (``overlap.py``).

Whatever cannot go to a worker degrades to the serial build with a logged warning, never an error: a style
or tokenizer that does not pickle (a class defined inside a function), one a worker cannot rebuild (a class
of a ``__main__`` script), or a pool that breaks (a worker killed). A bad record is reported by tokenizing
its chunk again in this process, which raises the very :class:`~promptstyles.errors.RecordError` (index in
the whole input, cause and traceback) the serial build raises.
"""

from __future__ import annotations

import collections
import logging
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import chain, islice
from typing import TYPE_CHECKING, Literal

from ...errors import DataError
from ...records import Record
from ...styles._base import Style
from ..modes import SpecialTokensMode
from ..tokenizers.protocol import Tokenizer
from .encoding import ChunkArrays, encode_chunk, tokenize_chunks
from .overlap import tokenize_chunks_overlapped
from .worker import Recipe, claim, init_worker, recipe_of, shipped, start_method, tokenize_in_worker

if TYPE_CHECKING:
    from ..tokenized import TokenizedDataset

__all__ = ["NumProc", "resolve_num_proc", "tokenize_chunks_parallel"]

logger = logging.getLogger(__name__)

NumProc = int | Literal["auto"]
"""Processes that tokenize, this one included (1: this one alone), or ``"auto"``: one per usable core."""

_IN_FLIGHT_PER_WORKER = 2
"""Chunks submitted per worker ahead of the one being yielded: enough to keep workers busy while the
parent unpickles a result, few enough that memory does not grow with the input."""

_AHEAD_HERE = 8
"""Chunks this process may tokenize ahead of the first chunk a worker holds: while a worker is slower (still
starting, or on a core shared with other work) this process keeps going, within a fixed bound."""

_SLOTS = 1 << 12
"""Claim flags, one per chunk submitted, reused in turn: far more than the chunks ever in flight."""

_WORK_HERE = True
"""Whether this process tokenizes too (off only to test the workers on inputs they would otherwise miss)."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def resolve_num_proc(num_proc: NumProc) -> int:
    """The number of processes ``num_proc`` asks for: ``"auto"`` means one per usable core, whatever the
    tokenizer (see the module docstring for why a Rust pool does not change that)."""
    if num_proc == "auto":
        return usable_cores()
    if isinstance(num_proc, bool) or not isinstance(num_proc, int) or num_proc < 1:
        raise DataError(f"num_proc must be at least 1, or 'auto' for one process per core; got {num_proc!r}")
    return num_proc


def tokenize_chunks_parallel(
    chunks: Iterable[Sequence[Record]],
    style: Style,
    tokenizer: Tokenizer,
    *,
    special_tokens: SpecialTokensMode = "text",
    source: str | None = None,
    num_proc: NumProc = "auto",
) -> Iterator[TokenizedDataset]:
    """:func:`~promptstyles.data.build.encoding.tokenize_chunks` in ``num_proc`` worker processes: the same
    datasets, in the same order, pulled lazily from ``chunks``.

    With one process, or a single chunk, nothing is started. See the module docstring for what degrades to
    the serial build and how errors are reported.
    """
    processes = resolve_num_proc(num_proc)
    pending = iter(chunks)
    first_chunks = _take(pending, 2)
    recipe = recipe_of(style, tokenizer) if processes > 1 and len(first_chunks) == 2 else None
    chunks = chain(first_chunks, pending)
    if recipe is not None:
        try:
            pool = _Pool(chunks, style, tokenizer, recipe, processes - 1, special_tokens, source)
        except OSError as error:  # no shared memory for the claim flags
            logger.warning("cannot share memory with worker processes (%s); tokenizing in this process", error)
        else:
            yield from pool
            return
    serial = tokenize_chunks_overlapped if getattr(tokenizer, "encodes_on_all_cores", False) else tokenize_chunks
    yield from serial(chunks, style, tokenizer, special_tokens=special_tokens, source=source)


def _take(iterator: Iterator[Sequence[Record]], count: int) -> list[Sequence[Record]]:
    """Up to ``count`` non-empty chunks from ``iterator``."""
    return list(islice((records for records in iterator if len(records)), count))


class _Entry:
    """A chunk in order: in a worker's queue (``future``) or already tokenized here (``arrays``)."""

    __slots__ = ("arrays", "first_index", "future", "records", "slot")

    def __init__(self, records: Sequence[Record], first_index: int, *, slot: int = -1,
                 future: Future[ChunkArrays | str | None] | None = None, arrays: ChunkArrays | None = None) -> None:
        self.records, self.first_index, self.slot, self.future, self.arrays = records, first_index, slot, future, arrays


class _Pool:
    """Chunks in input order, tokenized by ``workers`` processes and by this one.

    Whoever claims a chunk first tokenizes it (a flag per chunk in shared memory), so no chunk is tokenized
    twice; what this process takes while it would otherwise wait is :meth:`_work_here`'s choice."""

    def __init__(self, chunks: Iterator[Sequence[Record]], style: Style, tokenizer: Tokenizer, recipe: Recipe,
                 workers: int, special_tokens: SpecialTokensMode, source: str | None) -> None:
        self.chunks, self.style, self.tokenizer = chunks, style, tokenizer
        self.special_tokens, self.source = special_tokens, source
        self.workers = workers
        self.limit = workers * _IN_FLIGHT_PER_WORKER
        self.queue: collections.deque[_Entry] = collections.deque()
        self.busy: set[Future[ChunkArrays | str | None]] = set()  # worker tasks not finished, claimed here or not
        self.next_index = 0
        self.submitted = 0
        self.exhausted = False
        self.done = {"worker": 0, "here": 0}
        context = multiprocessing.get_context(start_method())
        if context.get_start_method() == "forkserver":
            # Workers import what they need themselves, in parallel: a preload would keep the first
            # submit waiting for the fork server's imports.
            context.set_forkserver_preload([])
        self.claims, self.lock = context.RawArray("b", _SLOTS), context.Lock()
        self.executor: ProcessPoolExecutor | None = ProcessPoolExecutor(
            workers, mp_context=context, initializer=init_worker, initargs=(recipe, self.claims, self.lock))
        logger.info("tokenizing with %d worker processes (%s) and this one", workers, context.get_start_method())

    def _next(self) -> tuple[Sequence[Record], int] | None:
        if not self.exhausted:
            for records in self.chunks:
                if len(records):
                    first = self.next_index
                    self.next_index += len(records)
                    return records, first
            self.exhausted = True
        return None

    def here(self, records: Sequence[Record], first_index: int) -> ChunkArrays:
        return encode_chunk(records, self.style, self.tokenizer, special_tokens=self.special_tokens,
                            first_index=first_index, source=self.source)

    def _fill(self) -> None:
        """Give the workers up to ``_IN_FLIGHT_PER_WORKER`` chunks each."""
        self.busy = {future for future in self.busy if not future.done()}
        while self.executor is not None and len(self.busy) < self.limit:
            taken = self._next()
            if taken is None:
                return
            slot = self.submitted % _SLOTS
            self.submitted += 1
            self.claims[slot] = 0
            records, first = taken
            try:
                future = self.executor.submit(tokenize_in_worker, slot, shipped(records), first, self.special_tokens,
                                              self.source)
            except (OSError, RuntimeError) as error:  # no process could be started (no fork server, no /dev/shm)
                self.queue.append(_Entry(*taken))
                self._serial(f"cannot start worker processes ({type(error).__name__}: {error})")
                return
            self.busy.add(future)
            self.queue.append(_Entry(*taken, slot=slot, future=future))

    def _work_here(self) -> bool:
        """Tokenize a chunk here; whether there was one to take.

        While a worker is busy, the next chunk of the input (up to a bound ahead): taking the chunk queued
        behind the worker's would leave it idle once it finishes, until this process submits more. Else (no
        worker has started: they are starting, or their cores are busy; the input is done; the bound is
        reached) the first chunk no worker has started."""
        if not _WORK_HERE:
            return False
        waiting = [entry for entry in self.queue if entry.future is not None and not entry.future.done()]
        room = sum(entry.future is None for entry in self.queue) < _AHEAD_HERE
        if room and any(self.claims[entry.slot] for entry in waiting) and self._fresh():
            return True
        for entry in waiting:
            if claim(self.claims, self.lock, entry.slot):
                entry.arrays = self.here(entry.records, entry.first_index)
                entry.future = None
                return True
        return room and self._fresh()

    def _fresh(self) -> bool:
        """Tokenize the next chunk of the input here; whether there was one."""
        taken = self._next()
        if taken is None:
            return False
        self.queue.append(_Entry(*taken, arrays=self.here(*taken)))
        return True

    def _result(self, entry: _Entry) -> ChunkArrays:
        if entry.arrays is not None:
            return entry.arrays
        assert entry.future is not None
        try:
            result = entry.future.result()
        except BrokenProcessPool as error:
            self._serial(f"worker processes stopped ({error})")
            return self.here(entry.records, entry.first_index)
        except Exception as error:
            # Deterministic failures (a bad record) raise again here, with their cause and traceback.
            arrays = self.here(entry.records, entry.first_index)
            logger.warning("a worker failed on records %d-%d (%s: %s) that tokenize here; kept this result",
                           entry.first_index, entry.first_index + len(entry.records) - 1, type(error).__name__,
                           error)
            return arrays
        if result is None:  # claimed here meanwhile: cannot happen unless a slot was reused, yet costs nothing
            return self.here(entry.records, entry.first_index)
        if isinstance(result, str):
            self._serial(f"worker processes cannot rebuild style {self.style.name!r} or tokenizer "
                         f"{self.tokenizer.name!r}: {result}; define the style class in an importable module")
            return self.here(entry.records, entry.first_index)
        return result

    def _serial(self, reason: str) -> None:
        """Go on in this process alone: every chunk still in a worker is tokenized again here."""
        logger.warning("%s; tokenizing the rest in this process", reason)
        self.close()
        for entry in self.queue:
            entry.future = None

    def __iter__(self) -> Iterator[TokenizedDataset]:
        try:
            while self.executor is not None:
                self._fill()
                if self.executor is None:
                    break
                if not self.queue:
                    if self._work_here():
                        continue
                    self.close()  # every chunk is done: no worker outlives the build
                    return
                head = self.queue[0]
                if head.future is not None and not head.future.done() and self._work_here():
                    continue
                arrays = self._result(head)
                self.done["worker" if head.future is not None else "here"] += 1
                self.queue.popleft()
                yield arrays.dataset()
            # After a fall-back: the chunks taken, then the rest, all here and in order.
            while self.queue:
                entry = self.queue.popleft()
                arrays = entry.arrays if entry.arrays is not None else self.here(entry.records, entry.first_index)
                yield arrays.dataset()
            for taken in iter(self._next, None):
                yield self.here(*taken).dataset()
        finally:
            self.close()
            logger.debug("chunks tokenized by workers: %(worker)d, here: %(here)d", self.done)

    def close(self) -> None:
        """Stop the workers (chunks not started are dropped) and wait for them to exit."""
        executor, self.executor = self.executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
