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
import socket
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import DataError, PromptStylesError
from ...records import Record
from ...styles._base import Style
from ..modes import SpecialTokensMode
from ..tokenizers.protocol import Tokenizer
from .encoding import ChunkArrays, encode_chunk
from .shards import encoded_shard, read_shard, remove_shards, shard_folder

if TYPE_CHECKING:
    from ..tokenized import TokenizedDataset

__all__ = ["ChunkEncoder", "import_ray", "tokenize_chunks_ray"]

logger = logging.getLogger(__name__)

_IN_FLIGHT_PER_ACTOR = 4
_RETRIES = 3
"""Restarts of a crashed actor, and retries of the chunk it held."""
_PROBE_SECONDS = 10


def import_ray() -> Any:
    """The ``ray`` module, or an error saying how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError as error:
        raise DataError("data.cluster.engine: ray is not installed here; install the extra with "
                        "pip install 'promptstyles[ray]' (on the driver and every node)") from error


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


def _connect(ray: Any, address: str) -> bool:
    """Join the cluster at ``address`` (``local`` starts one on this machine); whether this call connected."""
    if ray.is_initialized():
        return False
    _probe(address)
    try:
        ray.init(address=address, log_to_driver=False, include_dashboard=False, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise DataError(f"data.cluster.address: cannot reach a Ray cluster at {address!r} ({error}); start one "
                        "with `ray start --head` and give its address, or use `local` to start one here") from error
    return True


def _probe(address: str) -> None:
    """Fail fast on a ``host:port`` nothing listens at: Ray itself would wait on it for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # auto, local, or a form Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=_PROBE_SECONDS).close()
    except OSError as error:
        raise DataError(f"data.cluster.address: nothing answers at {address!r} ({error}); start the head with "
                        "`ray start --head` and give the address it prints") from error


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
    ray = import_ray()
    connected = _connect(ray, address)
    try:
        recipe = _ship(ray, style, tokenizer)
        folder = shard_folder(Path(shards), style, tokenizer, special_tokens) if shards is not None else None
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        count = actors or cpus
        remote = ray.remote(num_cpus=_cpu_share(count, cpus), max_restarts=_RETRIES,
                            max_task_retries=_RETRIES)(ChunkEncoder)
        pool = [remote.remote([recipe]) for _ in range(count)]
        logger.info("tokenizing on a Ray cluster with %d actors%s", count, f", shards in {folder}" if folder else "")
        try:
            yield from _ordered(ray, pool, chunks, special_tokens, source, folder)
            if folder is not None:
                remove_shards(folder)
        finally:
            for actor in pool:
                ray.kill(actor)
    finally:
        if connected:
            ray.shutdown()


def _cpu_share(actors: int, cpus: int) -> float:
    """The CPUs each actor asks for: one, or ``1/k`` when more actors than CPUs are asked for, so every actor
    fits on nodes of whole CPUs (``k`` per CPU) instead of waiting for a CPU that never comes."""
    if actors <= cpus:
        return 1.0
    share = 1 / -(-actors // cpus)
    logger.warning("data.cluster.actors: %d actors on %d CPUs; each asks for %.2f CPU", actors, cpus, share)
    return share


def _ordered(ray: Any, pool: list[Any], chunks: Iterable[Sequence[Record]], special_tokens: SpecialTokensMode,
             source: str | None, folder: Path | None) -> Iterator[TokenizedDataset]:
    """Chunks go to the least loaded actor, at most ``_IN_FLIGHT_PER_ACTOR`` each; results come back in order."""
    in_flight: deque[tuple[Any, int, int, int]] = deque()  # (result, actor, first index, records)
    load = [0] * len(pool)
    first = 0
    pending = (records for records in chunks if len(records))
    exhausted = False
    while True:
        while not exhausted and len(in_flight) < _IN_FLIGHT_PER_ACTOR * len(pool):
            records = next(pending, None)
            if records is None:
                exhausted = True
                break
            actor = load.index(min(load))
            load[actor] += 1
            # Each chunk in the form its type pickles to: a list as its records, a streamed file's LineRecords
            # as its lines' text, which the actor parses.
            packed = pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)
            if folder is None:
                result = pool[actor].encode.remote(packed, first, special_tokens, source)
            else:
                result = pool[actor].encode_to_shard.remote(packed, first, special_tokens, source, str(folder))
            in_flight.append((result, actor, first, len(records)))
            first += len(records)
        if not in_flight:
            return
        # Ray moves a result to this node only when asked: ask for all of them, not just the one awaited next.
        ray.wait([ref for ref, *_ in in_flight], num_returns=len(in_flight), timeout=0, fetch_local=True)
        result, actor, start, size = in_flight.popleft()
        load[actor] -= 1
        fetched = _fetch(ray, result, start, size)
        yield (fetched if isinstance(fetched, ChunkArrays) else read_shard(fetched)).dataset()


def _fetch(ray: Any, result: Any, first: int, size: int) -> ChunkArrays | str:
    """A chunk's arrays or its shard's path; a record error raised on a worker is raised here as itself."""
    try:
        arrays: ChunkArrays | str = ray.get(result)
    except ray.exceptions.RayTaskError as error:
        cause = getattr(error, "cause", None)
        if isinstance(cause, PromptStylesError):
            raise cause from None
        raise DataError(f"a Ray worker failed on records {first}-{first + size - 1}: {error}") from error
    except ray.exceptions.RayActorError as error:
        raise DataError(f"the Ray actor holding records {first}-{first + size - 1} died {_RETRIES + 1} times; "
                        f"see the Ray logs of its node ({error})") from error
    return arrays
