"""Cluster benchmark: the token store of a million generated records built on a simulated two-node Ray cluster,
against the local ``num_proc: auto`` build on the same cores, in one run.

Run from the repository root (the shared dataset beside it, ``pip install -e '.[ray]'``):

    python benchmarks/bench_cluster.py                   # 1,000,000 records; writes benchmarks/RESULTS-cluster.md
    python benchmarks/bench_cluster.py --records 20000   # a smoke run

Each build runs in a fresh Python process (``--child``), so its peak memory is its own. The cluster build starts
``ray.cluster_utils.Cluster`` in that process with two nodes of one CPU each, as many as the local build's cores,
and builds through ``data.cluster`` with both ways home (``stream`` and ``shards``). Every store is compared file
by file with the local one. The cluster's actors read the file themselves, in line-aligned byte ranges of
``chunk_bytes`` (2 MiB) and hash it in blocks for the store's key; the driver plans the ranges and merges
the results. A second measurement times what Ray adds to one range: the range sent to an actor and its arrays
returned, with the reading, parsing and encoding left out. With the rate per core, that projects a
100-million-record build on a real cluster, against the driver's own work (merging the results into the
store), which one process does whatever the cluster's size.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
ROOT = BENCHMARKS.parent
SHARED = ROOT.parent / "shared"
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(SHARED / "tiktoken"))
sys.path.insert(0, str(BENCHMARKS))

from scale_data import ensure_jsonl  # noqa: E402
from scale_memory import run_child  # noqa: E402

from promptstyles.data.sources.ranges import RANGE_BYTES as RANGE  # noqa: E402  data.cluster.chunk_bytes' default

FULL = 1_000_000
NODES = 2
PROJECTED = 100_000_000
TARGET_RATIO = 0.8
TARGET_PEAK_MIB = 600
MIB = 2**20


def store_digest(folder: Path) -> dict[str, str]:
    """Each store file's SHA-256 (``verified.json`` records when this machine hashed the files, so it is left out)."""
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file() and path.name != "verified.json"}


def config(data: str, cache_dir: str, cluster: dict[str, Any] | None) -> dict[str, Any]:
    section: dict[str, Any] = {"path": data, "format": "jsonl", "streaming": True, "cache": True,
                               "cache_dir": cache_dir, "split": {"train": 1.0, "test": 0.0}}
    if cluster is None:
        section["num_proc"] = "auto"
    else:
        section["cluster"] = cluster
    return {"style": "alpaca", "tokenizer": "gpt2", "data": section}


def child(task: dict[str, Any]) -> dict[str, Any]:
    """One build (``local``, ``stream`` or ``shards``), or the per-chunk cost of Ray (``overhead``)."""
    import ray
    from ray.cluster_utils import Cluster

    from promptstyles.pipeline import prepare_data

    if task["task"] == "local":
        return _build(prepare_data, config(task["data"], task["store"], None))
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    for _ in range(NODES - 1):
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    try:
        if task["task"] == "overhead":
            return _overhead(ray, cluster.address, task["data"])
        settings = {"address": cluster.address, "results": task["task"]}
        return _build(prepare_data, config(task["data"], task["store"], settings))
    finally:
        ray.shutdown()
        cluster.shutdown()


def _build(prepare_data: Any, settings: dict[str, Any]) -> dict[str, float]:
    """Wall seconds, records, this process's peak RSS and its CPU seconds during the build (imports left out)."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    records = len(prepare_data(settings).dataset)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"seconds": seconds, "records": records, "driver_peak_rss": after.ru_maxrss * 1024, "driver_cpu": cpu}


def _overhead(ray: Any, address: str, data: str, rounds: int = 30) -> dict[str, float]:
    """Seconds Ray adds to one range: the range sent to an actor and its arrays back, with the reading, parsing
    and encoding left out; and those, timed here on one core."""
    from promptstyles.data.build.ranged import encode_range
    from promptstyles.data.sources.ranges import plan_ranges
    from promptstyles.data.tokenizers.registry import get_tokenizer
    from promptstyles.styles.alpaca import AlpacaStyle

    first = plan_ranges([data], RANGE)[0]
    style, tokenizer = AlpacaStyle(), get_tokenizer("gpt2")
    start = time.perf_counter()
    result = encode_range(first, style, tokenizer, special_tokens="text", fields=None, on_invalid="error")
    encode = time.perf_counter() - start

    class Echo:
        """The build's actor with the work taken out: takes a range, returns ready arrays."""

        def __init__(self, result: Any) -> None:
            self.result = result

        def echo(self, byte_range: Any) -> Any:
            return self.result

    ray.init(address=address, log_to_driver=False, include_dashboard=False)
    actor = ray.remote(num_cpus=1)(Echo).remote(result)
    ray.get(actor.echo.remote(None))
    start = time.perf_counter()
    for _ in range(rounds):
        ray.get(actor.echo.remote(first))
    return {"range_records": result.records, "range_encode": encode,
            "range_ray": (time.perf_counter() - start) / rounds}


def measure(records: int, data: Path, workdir: Path) -> dict[str, Any]:
    script = str(Path(__file__).resolve())
    out: dict[str, Any] = {}
    local: dict[str, str] = {}
    for name in ("local", "stream", "shards", "overhead"):
        store = workdir / name
        print(f"{name} ...", file=sys.stderr, flush=True)
        out[name] = run_child(script, {"task": name, "data": str(data), "store": str(store)})
        if name != "overhead":
            digest = store_digest(store)  # the local store's is hashed once, then each cluster store's
            local = local or digest
            out[name]["equal"] = digest == local
            shutil.rmtree(store, ignore_errors=True)
        print(f"{name}: {json.dumps(out[name])}", file=sys.stderr, flush=True)
    return out


def report(records: int, results: dict[str, Any], load: tuple[float, ...], seconds: float) -> str:
    import ray

    local = results["local"]
    rate_local = records / local["seconds"]
    rows = []
    for name in ("stream", "shards"):
        run = results[name]
        ratio = local["seconds"] / run["seconds"]
        peak = run["driver_peak_rss"] / MIB
        rows.append(f"| cluster, tokens home by `{name}` | {run['seconds']:.1f} s | {records / run['seconds']:,.0f} | "
                    f"{records / run['seconds'] / NODES:,.0f} | {ratio:.2f}x ({_mark(ratio >= TARGET_RATIO)}) | "
                    f"{peak:.0f} MiB ({_mark(peak <= TARGET_PEAK_MIB)}) | {'yes' if run['equal'] else '**NO**'} |")
    over = results["overhead"]
    per_core = over["range_records"] / over["range_encode"]  # one core's rate, Ray left out
    ranges = records / over["range_records"]
    stream = results["stream"]
    driver_rate = records / stream["driver_cpu"]  # the driver's own CPU per record bounds the whole build
    projection = []
    for cores in (16, 64, 256, 1024):
        workers = PROJECTED / (per_core * cores)  # encoding spread over the cores
        ray_cost = PROJECTED / over["range_records"] * over["range_ray"] / cores  # transfers overlap across actors
        driver = PROJECTED / driver_rate
        total = max(workers + ray_cost, driver)
        bound = "driver" if driver >= workers + ray_cost else "workers"
        projection.append(f"| {cores} | {(workers + ray_cost) / 60:.1f} min | {driver / 60:.1f} min | "
                          f"{total / 60:.1f} min ({bound}) |")
    return "\n".join([
        "# Cluster build benchmark",
        "",
        f"`python benchmarks/bench_cluster.py --records {records}`: {records:,} generated records (the scale "
        "benchmark's generator), Alpaca on GPT-2, streamed from one JSON Lines file. The local build uses "
        f"`data.num_proc: auto` on this machine's {os.cpu_count()} cores; the cluster build runs on "
        f"`ray.cluster_utils.Cluster` with {NODES} nodes of one CPU each on the same cores, one actor per CPU; "
        f"the actors read the file in {ranges:.0f} line-aligned ranges of `chunk_bytes: {RANGE}` "
        f"({over['range_records']:,} records each). Each build runs in a fresh process.",
        "",
        f"Ray {ray.__version__}, Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} cores, load average before the run {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}; "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; whole run {seconds / 60:.1f} min.",
        "",
        "| build | time | records/s | records/s per core | local time / this (target >= 0.8x) | "
        "driver peak RSS (target <= 600 MiB) | store byte-equal to local |",
        "|---|---|---|---|---|---|---|",
        f"| local, `num_proc: auto` | {local['seconds']:.1f} s | {rate_local:,.0f} | "
        f"{rate_local / (os.cpu_count() or 1):,.0f} | 1.00x | {local['driver_peak_rss'] / MIB:.0f} MiB | - |",
        *rows,
        "",
        "## What Ray adds per range, and 100 million records",
        "",
        f"- Reading, parsing and encoding one range ({over['range_records']:,} records) on one core, Ray left "
        f"out: {over['range_encode'] * 1e3:.0f} ms ({per_core:,.0f} records/s per core).",
        f"- Ray's round trip for the same range (sent to an actor, its arrays back, nothing computed): "
        f"{over['range_ray'] * 1e3:.1f} ms, {over['range_ray'] / over['range_encode']:.1%} of that work.",
        f"- The driver's own CPU (planning the ranges, merging the results into the store): "
        f"{stream['driver_cpu']:.1f} s for {records:,} records, {driver_rate:,.0f} records/s.",
        "",
        f"Projection for {PROJECTED:,} records of this shape (encoding spread over the cores, Ray's cost per "
        "range added, against the driver's own work, which one process does whatever the cluster's size):",
        "",
        "| cluster cores | workers | driver | build (bound by) |",
        "|---|---|---|---|",
        *projection,
        "",
        f"The driver reads no record: it plans, merges and writes every token, and at "
        f"{driver_rate:,.0f} records/s it keeps about {driver_rate / per_core:.0f} cores of reading, parsing and "
        "encoding busy before it becomes the bound.",
        "",
    ])


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=FULL)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=BENCHMARKS / "RESULTS-cluster.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "promptstyles-bench"
    data = cache / f"scale-{args.records}-seed{args.seed}.jsonl"
    data.parent.mkdir(parents=True, exist_ok=True)
    ensure_jsonl(data, SHARED / "data" / "instruction-data.json", args.records, args.seed)
    load = os.getloadavg()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as workdir:
        results = measure(args.records, data, Path(workdir))
    text = report(args.records, results, load, time.perf_counter() - start)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    return 0 if all(results[name]["equal"] for name in ("stream", "shards")) else 1


if __name__ == "__main__":
    sys.exit(main())
