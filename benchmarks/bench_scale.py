"""Scale benchmark: building, reloading and loading a token store of a million generated records on 2 cores.

Run from the repository root (the shared dataset and tokenizer folders beside it):

    python benchmarks/bench_scale.py                        # 1,000,000 records; writes benchmarks/RESULTS.md
    python benchmarks/bench_scale.py --records 20000        # a smoke run
    python benchmarks/bench_scale.py --only build,raw --tokenizers gpt2

The records are generated from the shared dataset's distribution (``scale_data``) as JSON Lines, once per
record count and seed. Each measurement runs in a fresh Python process (``scale_tasks``), so its memory
figures are its own (``scale_memory`` explains RSS, PSS and USS):

- build: the first ``prepare_data`` (read, validate, render, tokenize, write the store), for GPT-2 + Alpaca
  and the four shared models' tokenizers with their styles (Qwen2.5 + ``qwen2.5``, Llama-3 + ``llama3``,
  Mistral v0.3 + ``mistral-v0.3``, Phi-3.5 + ``phi3``): wall time, peak memory, store size on disk;
- raw: the raw tokenizer's batch encoding of the same rendered texts on all cores (tiktoken
  ``encode_ordinary_batch(num_threads=2)``, ``tokenizers`` ``encode_batch``), rendering not timed;
- reload: ``load_dataset`` of the built store, and a whole second ``prepare_data``, in a fresh process;
- shapes: padding share at batch size 8 (grouped by length and random) and packed rows' real-token share;
- loader: a DataLoader over the store with 0 and 2 workers; PSS and USS of the main process and each worker.

Feature keys that not every build of the product has (``data.streaming``, ``data.num_proc``,
``collate.packing``) are used when the config accepts them (``--features auto``) and reported as absent
otherwise.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
ROOT = BENCHMARKS.parent
SHARED = ROOT.parent / "shared"
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(SHARED / "tiktoken"))
sys.path.insert(0, str(BENCHMARKS))

from scale_data import ensure_jsonl  # noqa: E402
from scale_memory import run_child  # noqa: E402
from scale_report import render_section, update_results  # noqa: E402
from scale_tasks import FEATURES, TASKS, TOKENIZERS, supported_features  # noqa: E402

MEASUREMENTS = ("build", "raw", "reload", "shapes", "loader")
FULL = 1_000_000


def default_data(records: int, seed: int) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "promptstyles-bench"
    return base / f"scale-{records}-seed{seed}.jsonl"


def choose_features(request: str) -> tuple[list[str], dict[str, bool]]:
    """The features to turn on: ``auto`` (all the product accepts), ``none``, or a comma list (each must exist)."""
    available = supported_features()
    if request == "auto":
        return [name for name, ok in available.items() if ok], available
    if request == "none":
        return [], available
    wanted = [name.strip() for name in request.split(",") if name.strip()]
    for name in wanted:
        if name not in FEATURES:
            raise SystemExit(f"--features: unknown feature {name!r}; expected some of {', '.join(FEATURES)}")
        if not available[name]:
            raise SystemExit(f"--features: this build of promptstyles does not accept {name!r} yet")
    return wanted, available


def measure(args: argparse.Namespace, features: list[str], workdir: Path) -> dict[str, Any]:
    """Run the selected measurements, each in a fresh process; a store is built first where one is needed."""
    script = str(Path(__file__).resolve())
    only = set(args.only)
    results: dict[str, Any] = {}
    for tokenizer in args.tokenizers:
        base = {"tokenizer": tokenizer, "data": str(args.data), "features": features,
                "cache_dir": str(workdir / f"store-{tokenizer}")}
        steps = [name for name in MEASUREMENTS if name in only]
        if tokenizer != "gpt2":  # grouping, packing and loader memory do not depend on the tokenizer
            steps = [name for name in steps if name not in ("shapes", "loader")]
        if any(name in steps for name in ("reload", "shapes", "loader")) and "build" not in steps:
            steps.insert(0, "build")
        for name in steps:
            tasks = [{**base, "task": name}]
            if name == "loader":
                tasks = [{**base, "task": name, "workers": workers, "batches": args.batches} for workers in (0, 2)]
            for task in tasks:
                label = f"{name}-{tokenizer}" + (f"-w{task['workers']}" if "workers" in task else "")
                logging.info("running %s", label)
                results[label] = run_child(script, task)
                logging.info("%s: %s", label, json.dumps(results[label])[:400])
    return results


def machine(load: tuple[float, float, float]) -> dict[str, str]:
    import importlib.metadata

    import numpy
    import tiktoken
    import torch

    try:
        tokenizers_version = importlib.metadata.version("tokenizers")
    except importlib.metadata.PackageNotFoundError:  # only the Qwen measurements need it
        tokenizers_version = "not installed"
    return {"machine": platform.machine(), "cores": str(os.cpu_count()), "python": platform.python_version(),
            "torch": torch.__version__, "tiktoken": tiktoken.__version__, "tokenizers": tokenizers_version,
            "numpy": numpy.__version__, "load": ", ".join(f"{value:.1f}" for value in load)}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=FULL)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, help="the generated JSONL (default: a file per count and seed "
                        "under ~/.cache/promptstyles-bench, reused when its parameters match)")
    parser.add_argument("--source", type=Path, default=SHARED / "data" / "instruction-data.json")
    parser.add_argument("--only", default=",".join(MEASUREMENTS), help=f"some of {','.join(MEASUREMENTS)}")
    parser.add_argument("--tokenizers", default=",".join(TOKENIZERS), help=f"some of {','.join(TOKENIZERS)}")
    parser.add_argument("--features", default="auto", help="auto, none, or some of " + ",".join(FEATURES))
    parser.add_argument("--batches", type=int, default=200, help="batches the loader measurement iterates")
    parser.add_argument("--output", type=Path, default=BENCHMARKS / "RESULTS.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    args.tokenizers = [name.strip() for name in args.tokenizers.split(",") if name.strip()]
    for name in args.only:
        if name not in MEASUREMENTS:
            parser.error(f"--only: unknown measurement {name!r}; expected some of {', '.join(MEASUREMENTS)}")
    for name in args.tokenizers:
        if name not in TOKENIZERS:
            parser.error(f"--tokenizers: unknown tokenizer {name!r}; expected some of {', '.join(TOKENIZERS)}")
    args.data = args.data or default_data(args.records, args.seed)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.WARNING if args.child else logging.INFO, format="%(message)s")
    if args.child:
        task = json.loads(args.child)
        print(json.dumps(TASKS[task["task"]](task)))
        return 0
    load = os.getloadavg()
    features, available = choose_features(args.features)
    start = time.perf_counter()
    written = ensure_jsonl(args.data, args.source, args.records, args.seed)
    generated = {"path": str(args.data), "bytes": args.data.stat().st_size, "records": args.records,
                 "seed": args.seed, "seconds": time.perf_counter() - start, "written": written}
    workdir = Path(tempfile.mkdtemp(prefix="promptstyles-scale-"))
    try:
        results = measure(args, features, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    section, table = render_section(results, generated=generated, features=features, available=available,
                                    machine=machine(load), full=args.records >= FULL, argv=argv or sys.argv[1:])
    update_results(args.output, section, args.records)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
