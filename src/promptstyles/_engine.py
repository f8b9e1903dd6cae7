"""Which engine tokenizes a config's records: this machine's processes (``data.num_proc``) or a Ray cluster
(``data.cluster``). Both take chunks of records and give tokenized chunks in order, so the store is the same;
a streamed build on a cluster gives the workers byte ranges of the files instead, which they read themselves."""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from ._io import cache_dir
from .config import Config
from .data.build.encoding import CHUNK_SIZE
from .data.build.parallel import tokenize_chunks_parallel
from .data.build.streaming import Tokenize

__all__ = ["chunk_records", "cluster_session", "range_engine", "tokenize_engine"]


def tokenize_engine(config: Config) -> Tokenize:
    """The chunk tokenizer ``config`` asks for; Ray is imported only when a chunk is tokenized there."""
    cluster = config.data.cluster
    if cluster is None:
        return functools.partial(tokenize_chunks_parallel, num_proc=config.data.num_proc)
    from .data.build.cluster import tokenize_chunks_ray

    return functools.partial(tokenize_chunks_ray, **_cluster_options(config))


def range_engine(config: Config) -> dict[str, Any]:
    """``stream_dataset``'s keywords for reading (and hashing) the files in byte ranges on the cluster (none
    without one)."""
    cluster = config.data.cluster
    if cluster is None:
        return {}
    from .data.build.cluster import digest_blocks_ray, tokenize_ranges_ray

    return {"ranges": functools.partial(tokenize_ranges_ray, **_cluster_options(config)),
            "range_bytes": cluster.chunk_bytes,
            "digests": functools.partial(digest_blocks_ray, address=cluster.address)}


def cluster_session(config: Config) -> contextlib.AbstractContextManager[Any]:
    """Joins the cluster once for a whole build (hashing the input, then tokenizing it); nothing without one."""
    cluster = config.data.cluster
    if cluster is None:
        return contextlib.nullcontext()
    from .data.build.ray_session import session

    return session(cluster.address)


def _cluster_options(config: Config) -> dict[str, Any]:
    cluster = config.data.cluster
    assert cluster is not None
    shards = cache_dir(config.data.cache_dir) if cluster.results == "shards" else None
    return {"address": cluster.address, "actors": cluster.actors, "shards": shards}


def chunk_records(config: Config) -> int:
    """Records per chunk: fixed by the config, never by the number of workers."""
    return config.data.cluster.chunk_records if config.data.cluster is not None else CHUNK_SIZE
