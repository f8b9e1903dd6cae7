"""The ``promptstyles`` command: thin commands over the public API.

Errors print one line on stderr and exit with status 1; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .. import distributed
from .._config_paths import resolve_plugin
from ..errors import PluginError, PromptStylesError, RecordError
from ..records import to_record
from ..styles.declarative import is_style_file
from ..styles.registry import StyleRegistry, build_registry
from .build import add_build_command
from .cache import add_cache_command
from .check import add_check_command
from .data import cmd_batch, cmd_stats
from .output import print_table
from .styles import STYLE_HELP, add_style_commands, style_and_info

__all__ = ["main"]

Command = Callable[[argparse.Namespace], int]


def _registry(plugins: Sequence[str] = ()) -> StyleRegistry:
    """The registry with ``--plugin`` modules loaded: each one named must load."""
    registry = build_registry(tuple(plugins))
    registry.require(plugins, key=None)
    return registry


def cmd_list(args: argparse.Namespace) -> int:
    registry = _registry(args.plugin)
    rows = [["NAME", "ALIASES", "PLUGIN", "DESCRIPTION"]]
    for info in registry.infos():
        plugin = info.plugin + (f" ({info.distribution})" if info.distribution else "")
        rows.append([info.name, ",".join(info.aliases) or "-", plugin, info.description])
    print_table(rows)
    for failure in registry.failures:
        print(f"warning: {failure.describe()}", file=sys.stderr)
    for conflict in registry.conflicts:
        print(f"warning: {conflict}", file=sys.stderr)
    return 0


def _record_from_args(args: argparse.Namespace) -> Any:
    if args.json is not None:
        try:
            raw = json.loads(args.json)
        except json.JSONDecodeError as error:
            raise RecordError(f"--json is not valid JSON: {error}") from error
        return to_record(raw, index=0, source="--json", require_output=not args.generation)
    from ..data.sources.loading import read_raw

    raw_records = read_raw(args.data)
    if not -len(raw_records) <= args.index < len(raw_records):
        raise RecordError(f"index {args.index} is out of range: the file has {len(raw_records)} records",
                          source=args.data)
    index = args.index % len(raw_records)
    return to_record(raw_records[index], index=index, source=args.data, require_output=not args.generation)


def cmd_render(args: argparse.Namespace) -> int:
    style, _info = style_and_info(args)
    record = _record_from_args(args)
    text = style.generation_prompt(record) if args.generation else style.render(record).text
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..styles.export import chat_template, write_chat_template

    style, _info = style_and_info(args)
    template = chat_template(style, generation_tags=args.generation_tags)
    if args.into:
        write_chat_template(args.into, template)
        print(f"{args.into}: chat_template set to style {style.name!r}")
    else:
        print(template)
    return 0


def cmd_freeze(args: argparse.Namespace) -> int:
    from ..styles.freeze import frozen_yaml

    style, info = style_and_info(args)
    sys.stdout.write(frozen_yaml(style, info, plugins=args.plugin))
    return 0


def _is_experiment(path: str) -> bool:
    """An experiment file lists ``styles`` to compare; a config selects one ``style``."""
    from .._schema import read_yaml

    data, _lines = read_yaml(path)
    return isinstance(data, dict) and "styles" in data


def cmd_validate(args: argparse.Namespace) -> int:
    if _is_experiment(args.config):
        from ..experiments.validate import validate_experiment

        print(f"{args.config}: valid experiment: {validate_experiment(args.config).summary()}")
        return 0
    from ..preflight import preflight

    checked = preflight(args.config)
    config, style, tokenizer = checked.config, checked.style, checked.tokenizer
    if isinstance(config.style, str) and is_style_file(config.style):
        origin = f"declared in {config.style}"
    elif isinstance(config.style, str):
        info = _registry(config.plugins).info(config.style)
        origin = f"from plugin {info.plugin!r}"
    else:
        origin = "declared in the config"
    data = (f"{checked.records} {checked.unit} from {config.data.source}" if checked.records is not None else
            f"records from {config.data.source} checked as they are read")
    print(f"{args.config}: valid (style {style.name!r} {origin}, {type(style).__name__}; tokenizer "
          f"{tokenizer.name!r}, {tokenizer.vocab_size} ids; {data})")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from ..experiments.compare import compare, default_experiment_path

    experiment = args.experiment or default_experiment_path()
    leader = distributed.is_main_process()  # under torchrun every rank computes and rank 0 writes and prints
    try:
        results = compare(experiment, output=args.output, overwrite=args.overwrite)
    except BaseException:
        distributed.close(succeeded=False)
        raise
    distributed.close()
    if not leader:
        return 0
    files = results["files"]
    reused = f" ({len(results['resumed'])} finished runs reused)" if results["resumed"] else ""
    print(f"report: {files['markdown']}{reused}")
    print("results: " + ", ".join(files[key] for key in ("json", "csv", "responses") if key in files))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="promptstyles", description="Prompt styles for instruction fine-tuning.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("-v", "--verbose", action="store_true", help="show progress and info logs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="list the registered styles and their plugins")
    listing.add_argument("--plugin", action="append", default=[], metavar="MODULE", help="also load this module")
    listing.set_defaults(run=cmd_list)

    render = commands.add_parser("render", help="print one record rendered in a style, exactly")
    render.add_argument("style", help=STYLE_HELP)
    source = render.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", metavar="FILE", help="JSON or JSONL file of records")
    source.add_argument("--json", metavar="RECORD", help="one record as a JSON object")
    render.add_argument("--index", type=int, default=0, help="record index in --data (default 0)")
    render.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="a style option")
    render.add_argument("--generation", action="store_true", help="print the generation prompt instead")
    render.add_argument("--plugin", action="append", default=[], metavar="MODULE", help="also load this module")
    render.set_defaults(run=cmd_render)

    add_check_command(commands)
    add_cache_command(commands, print_table)

    add_style_commands(commands, export=cmd_export, freeze=cmd_freeze)

    validate = commands.add_parser("validate", help="check a YAML config as a build does, short of tokenizing, or an "
                                                  "experiment file whole (every run's style, tokenizer and data, the "
                                                  "model)")
    validate.add_argument("config", help="YAML file")
    validate.set_defaults(run=cmd_validate)

    add_build_command(commands)

    stats = commands.add_parser("stats", help="token counts per split: lengths, prompt/response, trained share")
    stats.add_argument("config", help="YAML file")
    stats.set_defaults(run=cmd_stats)

    batch = commands.add_parser("batch", help="print one batch decoded, with masked targets marked")
    batch.add_argument("config", help="YAML file")
    batch.add_argument("--split", choices=("train", "val", "test"), default="train")
    batch.add_argument("--index", type=int, default=0, help="batch number (default 0)")
    batch.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    batch.set_defaults(run=cmd_batch)

    compare = commands.add_parser("compare", help="compare styles: static costs, fine-tuning, a report with plots")
    compare.add_argument("experiment", nargs="?", help="experiment YAML (default: the built-in sample comparison)")
    compare.add_argument("--output", metavar="DIR",
                         help="output folder (default: the experiment's output key, or promptstyles-compare/ in "
                              "the current folder)")
    compare.add_argument("--overwrite", action="store_true",
                         help="recompute every run, finished ones too, instead of resuming from runs/; write even "
                              "beside files compare did not write (and leave them alone)")
    compare.set_defaults(run=cmd_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "plugin", None):
        args.plugin = [resolve_plugin(entry, Path.cwd()) for entry in args.plugin]
    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    run: Command = args.run
    try:
        status = run(args)
        sys.stdout.flush()  # a reader that went away (``| head``) surfaces here, not at interpreter exit
        return status
    except BrokenPipeError:
        # The standard handling: stdout goes to devnull so the flush at exit stays quiet; status 1 as Python's.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("promptstyles: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        kind = "error" if isinstance(error, PromptStylesError) else f"unexpected {type(error).__name__}"
        message = " ".join(str(error).split())
        cause = error.__cause__
        if isinstance(error, PluginError) and cause is not None and str(cause) not in message:
            message += f" (caused by {type(cause).__name__}: {' '.join(str(cause).split())})"
        print(f"promptstyles: {kind}: {message} (rerun with --debug for details)"
              if kind != "error" else f"promptstyles: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
