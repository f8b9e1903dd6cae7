"""Tokenizing on a Ray cluster: chunks of records rendered and encoded by Ray actors, merged here in order.

The same seam as :func:`~.parallel.tokenize_chunks_parallel`: chunks of records in, tokenized chunks out, in
input order, so the store writer, the cache key and every array are those of the local build (byte-equal).
Chunks are fixed by the input (``chunk_records`` each), never by the number of actors. Each actor rebuilds the
style and tokenizer once from one shared object and encodes whole chunks; a chunk is pure work (records in,
arrays out), so when Ray restarts a crashed actor and retries its chunk the result is the same and lands once.
At most four chunks per actor are in flight, so the driver's memory stays bounded on an input of any length,
and an actor whose results wait behind a slower actor's (they come home in input order) still has work.
A chunk's records travel as one pickled bytes object: Ray serialises a list of record objects one by one,
about twenty times slower than pickling the list whole. A streamed file's chunks travel as their lines'
text (:class:`~..sources.jsonl_chunks.LineRecords`), so the actors parse the records, not this process.
Tokens come home one of two ways: sent back to the driver through Ray's object store (no shared filesystem
needed), or written by the workers as shards on storage every node sees and read back by the driver in order
(:mod:`.shards`; a rerun after a stop reuses the shards already written).

Ray is an optional extra (``promptstyles[ray]``): it is imported only here, when a build asks for it.
Actors run with ``TOKENIZERS_PARALLELISM=false``: Ray gives each one CPU, so a Rust pool per actor would only
oversubscribe the node.
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ...errors import DataError, PromptStylesError
from ...records import Record
from ...styles._base import Style
from ..modes import SpecialTokensMode
from ..sources.ranges import ByteRange
from ..store.cache import Block, block_digest
from ..tokenizers.protocol import Tokenizer
from .encoding import ChunkArrays, encode_chunk
from .ranged import RangeResult, encode_range
from .ray_session import import_ray, session
from .shards import encoded_shard, range_shard, read_range_shard, read_shard, remove_shards, shard_folder

if TYPE_CHECKING:
    from ..tokenized import TokenizedDataset

__all__ = ["ChunkEncoder", "digest_blocks_ray", "import_ray", "tokenize_chunks_ray", "tokenize_ranges_ray"]

logger = logging.getLogger(__name__)

_IN_FLIGHT_PER_ACTOR = 4
_RETRIES = 3
"""Restarts of a crashed actor, and retries of the chunk it held."""


class ChunkEncoder:
    """The actor: one style and tokenizer per process, rebuilt once, then any number of chunks."""

    def __init__(self, recipe: list[Any]) -> None:
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
        # The reference comes in a list so that Ray does not resolve it before the call: a restarted actor
        # fetches it again from the driver, which holds it for the whole build.
        self.style, self.tokenizer = import_ray().get(recipe[0])

    def encode(self, packed: bytes, first_index: int, special_tokens: SpecialTokensMode,
               source: str | None) -> ChunkArrays:
        return self._encode(pickle.loads(packed), first_index, special_tokens, source)

    def encode_to_shard(self, packed: bytes, first_index: int, special_tokens: SpecialTokensMode,
                        source: str | None, folder: str) -> str:
        records = pickle.loads(packed)
        return encoded_shard(Path(folder), records, first_index,
                             lambda: self._encode(records, first_index, special_tokens, source))

    def _encode(self, records: Sequence[Record], first_index: int, special_tokens: SpecialTokensMode,
                source: str | None) -> ChunkArrays:
        return encode_chunk(records, self.style, self.tokenizer, special_tokens=special_tokens,
                            first_index=first_index, source=source)

    def encode_range(self, byte_range: ByteRange, options: dict[str, Any], folder: str | None) -> RangeResult | str:
        """A range read, parsed and encoded here (:func:`~.ranged.encode_range`); with ``folder``, its shard."""
        def encode() -> RangeResult:
            return encode_range(byte_range, self.style, self.tokenizer, **options)

        return encode() if folder is None else range_shard(Path(folder), byte_range, options, encode)


def _ship(ray: Any, style: Style, tokenizer: Tokenizer) -> Any:
    try:
        return ray.put((style, tokenizer))
    except Exception as error:  # whatever pickling raises
        cause = _pickling_error((style, tokenizer)) or error
        raise DataError(f"style {style.name!r} or tokenizer {tokenizer.name!r} cannot be sent to Ray workers "
                        f"({type(cause).__name__}: {cause}); define the style class at the top level of an "
                        "importable module installed on every node") from error


def _pickling_error(value: Any) -> Exception | None:
    """What pickling ``value`` raises, said in a line; Ray wraps the same error in a page of diagnostics."""
    try:
        importlib.import_module("ray.cloudpickle").dumps(value)
    except Exception as error:  # whatever pickling raises
        return error
    return None


def tokenize_chunks_ray(
    chunks: Iterable[Sequence[Record]],
    style: Style,
    tokenizer: Tokenizer,
    *,
    special_tokens: SpecialTokensMode = "text",
    source: str | None = None,
    address: str = "auto",
    actors: int | None = None,
    shards: str | os.PathLike[str] | None = None,
) -> Iterator[TokenizedDataset]:
    """Each chunk tokenized by a Ray actor, yielded in input order (see the module docstring).

    ``actors`` defaults to one per CPU the cluster has. ``shards`` (a folder every node sees at the same path)
    sends the tokens home as shard files instead of through Ray. A record a style cannot render raises the same
    :class:`~promptstyles.errors.RecordError` the local build raises, and nothing is yielded after it.
    """
    def tasks(folder: Path | None) -> Iterator[_Task]:
        first = 0
        for records in chunks:
            if not len(records):
                continue
            # Each chunk in the form its type pickles to: a list as its records, a streamed file's LineRecords
            # as its lines' text, which the actor parses.
            packed = pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)
            where = f"records {first}-{first + len(records) - 1}"
            if folder is None:
                yield _Task("encode", (packed, first, special_tokens, source), where)
            else:
                yield _Task("encode_to_shard", (packed, first, special_tokens, source, str(folder)), where)
            first += len(records)

    for fetched in _on_cluster(style, tokenizer, special_tokens, address, actors, shards, tasks):
        yield (fetched if isinstance(fetched, ChunkArrays) else read_shard(fetched)).dataset()


def tokenize_ranges_ray(
    ranges: Iterable[ByteRange],
    style: Style,
    tokenizer: Tokenizer,
    *,
    special_tokens: SpecialTokensMode = "text",
    fields: Mapping[str, str] | None = None,
    on_invalid: str = "error",
    address: str = "auto",
    actors: int | None = None,
    shards: str | os.PathLike[str] | None = None,
) -> Iterator[RangeResult]:
    """Each byte range read, parsed and encoded by a Ray actor, results in plan order (:mod:`.ranged` turns
    them into the store's chunks and the local build's errors); the files must be at the same path on every
    node. ``actors`` and ``shards`` as for :func:`tokenize_chunks_ray`."""
    options = {"special_tokens": special_tokens, "fields": dict(fields or {}), "on_invalid": on_invalid}

    def tasks(folder: Path | None) -> Iterator[_Task]:
        target = None if folder is None else str(folder)
        for byte_range in ranges:
            where = f"{byte_range.path}, bytes {byte_range.start}-{byte_range.end}"
            yield _Task("encode_range", (byte_range, options, target), where)

    for fetched in _on_cluster(style, tokenizer, special_tokens, address, actors, shards, tasks):
        yield read_range_shard(fetched) if isinstance(fetched, str) else fetched


def digest_blocks_ray(blocks: list[Block], *, address: str = "auto") -> list[bytes]:
    """Each block's digest (:func:`~..store.cache.block_digest`), computed by Ray tasks on the nodes, in order:
    the store's key without this process reading the files."""
    with session(address) as ray:
        remote = ray.remote(num_cpus=1, max_retries=_RETRIES)(block_digest)
        try:
            digests: list[bytes] = ray.get([remote.remote(*block) for block in blocks])
        except ray.exceptions.RayTaskError as error:
            cause = getattr(error, "cause", None)
            raise DataError(f"a Ray worker could not hash the input ({cause or error}); the files must be at the "
                            "same path on every node") from error
        return digests


class _Task(NamedTuple):
    """A unit of work: the actor method that does it, its arguments, and what it holds (for errors)."""

    method: str
    args: tuple[Any, ...]
    where: str


def _on_cluster(style: Style, tokenizer: Tokenizer, special_tokens: SpecialTokensMode, address: str,
                actors: int | None, shards: str | os.PathLike[str] | None,
                tasks: Callable[[Path | None], Iterable[_Task]]) -> Iterator[Any]:
    """Connect, start the actors, run ``tasks(shard folder or None)`` on them in order, and clean up."""
    with session(address) as ray:
        recipe = _ship(ray, style, tokenizer)
        folder = shard_folder(Path(shards), style, tokenizer, special_tokens) if shards is not None else None
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        count = actors or cpus
        remote = ray.remote(num_cpus=_cpu_share(count, cpus), max_restarts=_RETRIES,
                            max_task_retries=_RETRIES)(ChunkEncoder)
        pool = [remote.remote([recipe]) for _ in range(count)]
        logger.info("tokenizing on a Ray cluster with %d actors%s", count, f", shards in {folder}" if folder else "")
        try:
            yield from _ordered(ray, pool, tasks(folder))
            if folder is not None:
                remove_shards(folder)
        finally:
            for actor in pool:
                ray.kill(actor)


def _cpu_share(actors: int, cpus: int) -> float:
    """The CPUs each actor asks for: one, or ``1/k`` when more actors than CPUs are asked for, so every actor
    fits on nodes of whole CPUs (``k`` per CPU) instead of waiting for a CPU that never comes."""
    if actors <= cpus:
        return 1.0
    share = 1 / -(-actors // cpus)
    logger.warning("data.cluster.actors: %d actors on %d CPUs; each asks for %.2f CPU", actors, cpus, share)
    return share


def _ordered(ray: Any, pool: list[Any], tasks: Iterable[_Task]) -> Iterator[Any]:
    """Tasks go to the least loaded actor, at most ``_IN_FLIGHT_PER_ACTOR`` each; results come back in order."""
    in_flight: deque[tuple[Any, int, str]] = deque()  # (result, actor, what it holds)
    load = [0] * len(pool)
    pending = iter(tasks)
    exhausted = False
    while True:
        while not exhausted and len(in_flight) < _IN_FLIGHT_PER_ACTOR * len(pool):
            task = next(pending, None)
            if task is None:
                exhausted = True
                break
            actor = load.index(min(load))
            load[actor] += 1
            in_flight.append((getattr(pool[actor], task.method).remote(*task.args), actor, task.where))
        if not in_flight:
            return
        # Ray moves a result to this node only when asked: ask for all of them, not just the one awaited next.
        ray.wait([ref for ref, *_ in in_flight], num_returns=len(in_flight), timeout=0, fetch_local=True)
        result, actor, where = in_flight.popleft()
        load[actor] -= 1
        yield _fetch(ray, result, where)


def _fetch(ray: Any, result: Any, where: str) -> Any:
    """A task's result; a record error raised on a worker is raised here as itself."""
    try:
        return ray.get(result)
    except ray.exceptions.RayTaskError as error:
        cause = getattr(error, "cause", None)
        if isinstance(cause, PromptStylesError):
            raise cause from None
        raise DataError(f"a Ray worker failed on {where}: {error}") from error
    except ray.exceptions.RayActorError as error:
        raise DataError(f"the Ray actor holding {where} died {_RETRIES + 1} times; see the Ray logs of its node "
                        f"({error})") from error
