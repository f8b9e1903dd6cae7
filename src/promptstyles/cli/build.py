"""The ``promptstyles build`` command: build, or find and verify, the token store a config uses.

It prepares the data exactly as ``stats``, ``batch``, ``compare`` and ``build_dataloaders`` do, so the store it
reports is the one they read. A store that was found is checked whole (every token); a damaged one is removed
and built again, so what the command reports is always sound.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from ..config import load_config
from ..data.store.entries import store_folder, verify_store
from ..data.store.folder import remove_entries
from ..progress import ProgressBars

__all__ = ["add_build_command", "cmd_build"]


def _seconds(value: float) -> str:
    return f"{value:.2f} s"


def cmd_build(args: argparse.Namespace) -> int:
    from ..pipeline import prepare_data

    config = load_config(args.config)  # read once: it also says how the build reports progress
    bars = ProgressBars()
    data = prepare_data(config, progress=bars.for_build(config))
    bars.close()
    timings = dict(data.timings)
    store = data.store
    if store is None:
        where = "not kept (data.cache is false): built in memory for this run"
    else:
        path = store_folder(store.directory) / store.key
        if not (path / "meta.json").is_file():
            where = f"not kept ({store_folder(store.directory)} cannot be written): built for this run"
        elif not store.found:
            where = f"{path} (built)"
        else:
            started = time.perf_counter()
            problem = verify_store(store.key, store.directory)
            timings["verify"] = time.perf_counter() - started
            if problem is None:
                where = f"{path} (found, verified whole)"
            else:
                remove_entries(store_folder(store.directory), [store.key])
                data = prepare_data(config, progress=bars.for_build(config))
                bars.close()
                timings["rebuild"] = data.timings["tokens"]
                where = f"{path} (found damaged: {problem}; rebuilt)"
    dataset = data.dataset
    skipped = f" ({len(data.skipped)} skipped)" if data.skipped else ""
    print(f"store: {where}")
    count = (f"preference pairs: {data.size}{skipped} ({len(dataset)} rows)" if data.preference
             else f"records: {len(dataset)}{skipped}")
    print(f"{count}, tokens: {int(dataset.lengths.sum())} "
          f"(style {data.style.name!r}, tokenizer {data.tokenizer.name!r})")
    print("splits: " + ", ".join(f"{name} {size}" for name, size in data.sizes.items()))
    print("time: " + ", ".join(f"{stage} {_seconds(value)}" for stage, value in timings.items()))
    return 0


def add_build_command(commands: Any) -> None:
    """Add ``build CONFIG`` to the ``commands`` subparsers."""
    build = commands.add_parser("build", help="build, or find and verify, the token store of a config")
    build.add_argument("config", help="YAML file")
    build.set_defaults(run=cmd_build)
