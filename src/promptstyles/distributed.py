"""Where this process stands in a data-parallel job, and the few collectives the library needs.

``torchrun`` starts one process per device and tells each where it stands through ``RANK``, ``WORLD_SIZE``
and ``LOCAL_RANK`` (and ``MASTER_ADDR``/``MASTER_PORT`` for the rendezvous). This module is the only place
that reads them. When ``WORLD_SIZE`` > 1 and no process group exists yet, :func:`process_group` creates one
from those variables (``env://``) rather than coordinating ranks through a file lock: training with
``DistributedDataParallel`` needs the group anyway, and a barrier then costs nothing extra. The backend is
gloo on CPU; with CUDA it is ``cpu:gloo,cuda:nccl`` (NCCL for CUDA tensors, gloo for barriers and the small
CPU objects we broadcast) and ``LOCAL_RANK`` picks the device. Without a group and with ``WORLD_SIZE`` unset
every function here is a no-op for a single process, so library code calls them unconditionally.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from .errors import ConfigError

__all__ = [
    "Placement",
    "all_reduce_sum",
    "barrier",
    "broadcast_object",
    "close",
    "from_environment",
    "is_main_process",
    "local_device",
    "main_process_first",
    "placement",
    "process_group",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_created = False
"""Whether :func:`process_group` created the group (so :func:`close` destroys only its own)."""


@dataclass(frozen=True)
class Placement:
    """This process's ``rank`` among ``world_size`` processes, and its ``local_rank`` on its machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0


def _integer(environ: Mapping[str, str], name: str) -> int | None:
    text = environ.get(name)
    if text is None or text.strip() == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"expected an integer, got {text!r}; torchrun sets it, or unset it for one process",
                          path=name) from None


def from_environment(environ: Mapping[str, str] | None = None) -> Placement | None:
    """The placement ``torchrun`` wrote into the environment, or None when ``WORLD_SIZE`` and ``RANK`` are unset.

    A partial or contradictory environment is a :class:`ConfigError` that names the variable.
    """
    environ = os.environ if environ is None else environ
    world_size, rank = _integer(environ, "WORLD_SIZE"), _integer(environ, "RANK")
    if world_size is None and rank is None:
        return None
    if world_size is None:
        raise ConfigError(f"not set while RANK={rank}; launch with torchrun, which sets both", path="WORLD_SIZE")
    if rank is None:
        raise ConfigError(f"not set while WORLD_SIZE={world_size}; launch with torchrun, which sets both",
                          path="RANK")
    if world_size < 1:
        raise ConfigError(f"must be at least 1, got {world_size}", path="WORLD_SIZE")
    if not 0 <= rank < world_size:
        raise ConfigError(f"must be from 0 to WORLD_SIZE - 1 ({world_size - 1}), got {rank}", path="RANK")
    local_rank = _integer(environ, "LOCAL_RANK")
    local_rank = rank if local_rank is None else local_rank
    if not 0 <= local_rank <= rank:
        raise ConfigError(f"must be from 0 to RANK ({rank}), got {local_rank}", path="LOCAL_RANK")
    return Placement(rank, world_size, local_rank)


def placement() -> Placement:
    """Where this process stands: the live process group's view, else the environment's, else rank 0 of 1."""
    found = from_environment()
    if dist.is_available() and dist.is_initialized():
        local = found.local_rank if found is not None else dist.get_rank()
        return Placement(dist.get_rank(), dist.get_world_size(), local)
    return found or Placement()


def process_group() -> Placement:
    """This process's placement, creating the process group from the environment when a job needs one.

    Nothing happens for a single process or when the group already exists (the caller's own
    ``init_process_group`` is respected).
    """
    global _created
    where = placement()
    if where.world_size == 1 or dist.is_initialized():
        return where
    for name in ("MASTER_ADDR", "MASTER_PORT"):
        if not os.environ.get(name):
            raise ConfigError(f"not set while WORLD_SIZE={where.world_size}; launch with torchrun, which sets it, or"
                              " set MASTER_ADDR and MASTER_PORT to rank 0's address and a free port", path=name)
    if torch.cuda.is_available():
        torch.cuda.set_device(where.local_rank)
        backend = "cpu:gloo,cuda:nccl"
    else:
        backend = "gloo"
    logger.info("rank %d of %d: joining the process group (%s)", where.rank, where.world_size, backend)
    dist.init_process_group(backend, init_method="env://", rank=where.rank, world_size=where.world_size)
    _created = True
    return where


def close(succeeded: bool = True) -> None:
    """Destroy the process group if :func:`process_group` created it; call once at the end of a job.

    After a job that succeeded every rank first waits for the others, so no rank tears its connections down
    while another still runs a collective or writes the report (gloo aborts the early rank's process when
    it does). After a failure the group is left to the process's exit: a collective teardown could wait
    forever on a rank that died.
    """
    global _created
    if _created and dist.is_initialized() and succeeded:
        dist.barrier()
        dist.destroy_process_group()
    _created = False


def is_main_process() -> bool:
    """Rank 0 writes files and reports; the other ranks only compute."""
    return placement().rank == 0


def local_device(device: str) -> str:
    """``device`` for this process: a bare ``cuda`` becomes ``cuda:LOCAL_RANK`` in a multi-process job."""
    where = placement()
    return f"cuda:{where.local_rank}" if device == "cuda" and where.world_size > 1 else device


def barrier() -> None:
    """Wait until every rank gets here (nothing to wait for in a single process)."""
    if process_group().world_size > 1:
        dist.barrier()


@contextmanager
def main_process_first() -> Iterator[bool]:
    """Run the body on rank 0 first, then on the other ranks; yields whether this is rank 0.

    For work whose result rank 0 leaves behind (a cache entry) and the others then find.
    """
    main = process_group().rank == 0
    if not main:
        barrier()
    try:
        yield main
    finally:
        if main:
            barrier()


def all_reduce_sum(*values: float) -> list[float]:
    """The sums over all ranks of ``values`` (float64 on the CPU, so it needs no device)."""
    if not values or process_group().world_size == 1:
        return list(values)
    total = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total.tolist()


def broadcast_object(value: T) -> T:
    """Rank 0's ``value`` on every rank (a picklable object); the others' own ``value`` is ignored."""
    if process_group().world_size == 1:
        return value
    box: list[Any] = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
