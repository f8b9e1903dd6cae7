"""Joining a Ray cluster for a build: Ray imported only when asked for (an optional extra), and an address
that nothing answers at named at once instead of after Ray's minutes of retries."""

from __future__ import annotations

import contextlib
import importlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

from ...errors import DataError

__all__ = ["connect", "import_ray", "session"]

_PROBE_SECONDS = 10


def import_ray() -> Any:
    """The ``ray`` module, or an error saying how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError as error:
        raise DataError("data.cluster.engine: ray is not installed here; install the extra with "
                        "pip install 'promptstyles[ray]' (on the driver and every node)") from error


def connect(ray: Any, address: str) -> bool:
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


@contextlib.contextmanager
def session(address: str) -> Iterator[Any]:
    """The ``ray`` module joined to ``address`` for the block: left as found (a session opened around several
    calls, such as hashing the input and then tokenizing it, is joined once)."""
    ray = import_ray()
    connected = connect(ray, address)
    try:
        yield ray
    finally:
        if connected:
            ray.shutdown()
