"""The ``promptstyles cache`` command: list, verify and clear the tokenized datasets kept in the cache folder."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

from .._io import CACHE_ENV
from ..data.store.entries import store_folder, verify_store
from ..data.store.folder import StoreEntry, list_entries, remove_entries
from ..errors import DataError

__all__ = ["add_cache_command"]


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _row(entry: StoreEntry) -> list[str]:
    used = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(entry.last_used)) if entry.last_used else "-"
    meta = entry.meta
    if meta is None:
        return [entry.key, "-", "-", _size(entry.size), used, "(unreadable: rebuilt on next use)", "-"]
    info = meta.get("info", {})
    examples = int(meta["examples"])
    tokens = int(meta["arrays"]["tokens"]["length"]) - examples  # without each example's end-of-text
    return [entry.key, str(examples), str(tokens), _size(entry.size), used, str(info.get("style", "-")),
            str(info.get("tokenizer", "-"))]


def _missing(args: argparse.Namespace) -> str:
    """How a cache folder that does not exist is named: which one, and where the folder comes from."""
    where = ("--cache-dir" if args.cache_dir is not None else "$PROMPTSTYLES_CACHE_DIR" if os.environ.get(CACHE_ENV)
             else "the default cache folder")
    return (f"{store_folder(args.cache_dir).parent} ({where}) does not exist, so it holds no cached datasets; "
            "give --cache-dir the data.cache_dir of your config, or set $PROMPTSTYLES_CACHE_DIR")


def _selected(args: argparse.Namespace) -> list[StoreEntry]:
    entries = list_entries(store_folder(args.cache_dir))
    if args.keys:
        missing = sorted(set(args.keys) - {entry.key for entry in entries})
        if missing:
            raise DataError(f"no cached dataset {', '.join(missing)} in {store_folder(args.cache_dir)}; "
                            "`promptstyles cache list` shows the keys")
        entries = [entry for entry in entries if entry.key in args.keys]
    return entries


def cmd_cache_list(args: argparse.Namespace, table: Callable[[list[list[str]]], None]) -> int:
    entries = _selected(args)
    if not entries:
        exists = store_folder(args.cache_dir).parent.is_dir()
        print(f"no cached datasets in {store_folder(args.cache_dir)}" if exists else _missing(args))
        return 0
    table([["KEY", "RECORDS", "TOKENS", "SIZE", "LAST USED", "STYLE", "TOKENIZER"], *map(_row, entries)])
    return 0


def cmd_cache_clear(args: argparse.Namespace) -> int:
    if not store_folder(args.cache_dir).parent.is_dir():
        raise DataError(_missing(args))
    keys = [entry.key for entry in _selected(args)] if args.keys else None
    removed = remove_entries(store_folder(args.cache_dir), keys)
    print(f"removed {len(removed)} cached dataset{'' if len(removed) == 1 else 's'} from "
          f"{store_folder(args.cache_dir)}")
    return 0


def cmd_cache_verify(args: argparse.Namespace) -> int:
    if not store_folder(args.cache_dir).parent.is_dir():
        raise DataError(_missing(args))
    entries = _selected(args)
    if not entries:
        print(f"no cached datasets in {store_folder(args.cache_dir)}: nothing to verify")
    damaged = 0
    for entry in entries:
        problem = verify_store(entry.key, args.cache_dir)
        damaged += problem is not None
        print(f"{entry.key}: {'ok' if problem is None else f'damaged ({problem}); rebuilt on next use'}")
    return 1 if damaged else 0


def add_cache_command(commands: Any, table: Callable[[list[list[str]]], None]) -> None:
    """Add ``cache list|verify|clear`` to the ``commands`` subparsers; ``table`` prints rows in columns."""
    cache = commands.add_parser("cache", help="list, verify or clear the tokenized datasets in the cache folder")
    actions = cache.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, run, text in (
        ("list", lambda args: cmd_cache_list(args, table), "list cached datasets, most recently used first"),
        ("verify", cmd_cache_verify, "check cached datasets whole, every token included"),
        ("clear", cmd_cache_clear, "remove cached datasets (all, or those named)"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("keys", nargs="*", metavar="KEY", help="only these entries (default: all)")
        action.add_argument("--cache-dir", metavar="DIR",
                            help="the cache folder (default: $PROMPTSTYLES_CACHE_DIR or ~/.cache/promptstyles)")
        action.set_defaults(run=run)
