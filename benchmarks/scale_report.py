"""The scale benchmark's report: a Markdown section per record count in ``RESULTS.md``'s scale region, and a table."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from results_file import read_region, write_region
from scale_tasks import TOKENIZERS

__all__ = ["render_section", "update_results"]

MIB = 1 << 20
PEAK_TARGET = 1_000_000_000  # bytes: "under 1 GB"
REGION = "scale"
HEADER = """# Scale benchmark results

Written by `python benchmarks/bench_scale.py` (see its docstring), one section per record count; a new run
replaces the section of its count. The full run is 1,000,000 records; smaller counts are smoke runs that only
show the script works and where the figures head.
"""
RAW_NAMES = {"gpt2": "tiktoken `encode_ordinary_batch(num_threads=cores)`"}
RAW_HF = "`tokenizers` `Tokenizer.encode_batch` (Rust threads: all cores)"


def mib(value: float) -> str:
    return f"{value / MIB:,.{0 if value >= 100 * MIB else 1}f} MiB"


def build_split(build: dict[str, Any]) -> list[tuple[str, float]]:
    """The build's time before, during and after tokenizing, from the times of its progress calls (one per
    chunk of records; the first chunk's time is estimated as the mean chunk)."""
    if not build.get("progress_s"):
        return []
    first, last, calls = build["progress_s"]
    if calls == 1:
        return [("until the only progress call: setup, tokenizer load, read, validate, cache key, render, encode",
                 first),
                ("after it: store write, split", build["seconds"] - first),
                ("tokenizer load alone (measured again after the build)", build["tokenizer_load_s"])]
    chunk = (last - first) / (calls - 1) if calls > 1 else 0.0
    return [("before tokenizing: setup, tokenizer load, read, validate, cache key", first - chunk),
            (f"tokenizing: render + encode ({calls} progress calls)", last - first + chunk),
            ("after tokenizing: store write, split", build["seconds"] - last),
            ("tokenizer load alone (measured again after the build)", build["tokenizer_load_s"])]


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "**MISS**")


def throughput_ratio(build: dict[str, Any], raw: dict[str, Any]) -> float:
    """Records per second of the build over those of the raw encoding of the same rendered texts."""
    return (build["examples"] / build["seconds"]) / (raw["texts"] / raw["encode_s"])


def _targets(results: dict[str, Any], features: list[str]) -> list[tuple[str, str, str, bool | None]]:
    rows: list[tuple[str, str, str, bool | None]] = []

    def add(name: str, value: str, target: str, ok: bool | None) -> None:
        rows.append((name, value, target, ok))

    for tokenizer in TOKENIZERS:
        build, raw = results.get(f"build-{tokenizer}"), results.get(f"raw-{tokenizer}")
        if build:
            peak = max(build["peak_rss_self"], build["tree_peak_pss"])
            add(f"{tokenizer}: build peak memory", mib(peak), "< 954 MiB (1 GB)", peak < PEAK_TARGET)
        if build and raw:
            ratio = throughput_ratio(build, raw)
            add(f"{tokenizer}: build throughput / raw batch encoding", f"{ratio:.2f}", ">= 0.90", ratio >= 0.90)
        reload = results.get(f"reload-{tokenizer}")
        if reload:
            mapped = f"{reload['load_dataset_s']:.3f} s" if reload["hit"] else "not found by its key"
            add(f"{tokenizer}: reload, second `prepare_data` in a fresh process", f"{reload['prepare_data_s']:.2f} s",
                "< 1 s", reload["prepare_data_s"] < 1.0)
            add(f"{tokenizer}: reload, the store alone (`load_dataset`)", mapped, "< 1 s",
                reload["hit"] and reload["load_dataset_s"] < 1.0)
    shapes = results.get("shapes-gpt2")
    if shapes:
        packed = shapes.get("packed")
        add("packing: real-token share of rows of 1024", f"{1 - packed['padding_share']:.2%}" if packed else
            ("not measured" if "packing" in features else "absent (`collate.packing` unknown)"), ">= 98%",
            None if not packed else 1 - packed["padding_share"] >= 0.98)
        share = shapes["grouped"]["padding_share"]
        add("grouping: padding share at batch size 8", f"{share:.2%}", "<= 3%", share <= 0.03)
    none, two = results.get("loader-gpt2-w0"), results.get("loader-gpt2-w2")
    if none and two:
        ratio = _tree_pss(two) / _tree_pss(none)
        add("DataLoader, 2 workers: tree PSS / 0 workers", f"{ratio:.2f}x", "<= 1.5x (3x: each a copy)",
            ratio <= 1.5)
    return rows


def _tree_pss(result: dict[str, Any]) -> int:
    return result["main"]["pss"] + sum(worker["pss"] for worker in result["workers"])


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [f"| {' | '.join(head)} |", f"|{'---|' * len(head)}", *(f"| {' | '.join(row)} |" for row in rows)]


def _memory_cells(result: dict[str, Any]) -> list[str]:
    return [mib(result[key]) for key in ("peak_rss_self", "peak_rss_children", "tree_peak_rss", "tree_peak_pss")]


def _build_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for tokenizer in TOKENIZERS:
        build, raw = results.get(f"build-{tokenizer}"), results.get(f"raw-{tokenizer}")
        if build:
            rows.append([tokenizer, "promptstyles `prepare_data` (read, validate, render, encode, store)",
                         f"{build['seconds']:.2f} s", f"{build['tokens']:,}",
                         f"{build['tokens'] / build['seconds'] / 1e6:.2f} M", *_memory_cells(build),
                         mib(build["store_bytes"])])
            rows += [[tokenizer, f"- {name}", f"{seconds:.2f} s", "", "", "", "", "", "", ""]
                     for name, seconds in build_split(build)]
        if raw:
            for step, name in (("read_s", "raw: read JSONL + `to_record` (not timed in the ratio)"),
                               ("render_s", "raw: `style.render` (not timed in the ratio)"),
                               ("encode_s", f"raw: {RAW_NAMES.get(tokenizer, RAW_HF)}")):
                rows.append([tokenizer, name, f"{raw[step]:.2f} s", f"{raw['tokens']:,}",
                             f"{raw['tokens'] / raw[step] / 1e6:.2f} M", *_memory_cells(raw), ""])
    return rows


def _loader_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for workers in (0, 2):
        result = results.get(f"loader-gpt2-w{workers}")
        if not result:
            continue
        members = [("main", result["main"])] + [(f"worker {i}", m) for i, m in enumerate(result["workers"])]
        for name, memory in members:
            rows.append([str(workers), name, mib(memory["rss"]), mib(memory["pss"]), mib(memory["uss"])])
        rows.append([str(workers), "**all (sum)**", mib(sum(m["rss"] for _, m in members)),
                     mib(_tree_pss(result)), mib(sum(m["uss"] for _, m in members))])
    return rows


def _notes(results: dict[str, Any], features: list[str], available: dict[str, bool], full: bool,
           machine: dict[str, str]) -> list[str]:
    notes = []
    load, cores = float(machine["load"].split(",")[0]), machine["cores"]
    if cores.isdigit() and load > int(cores):
        notes.append(f"The machine was busy (load average {load:.1f} on {cores} cores at the start): times are "
                     "slower and noisier than on an idle machine, and ratios of times taken minutes apart "
                     "(our build against the raw encoding) carry that noise.")
    notes += ["The throughput ratio sets our whole `prepare_data` (tokenizer load, read, validate, render, encode, "
             "write the store) against the raw tokenizer's encoding alone, as the target asks; the raw side's read "
             "and render times are listed apart, and the build's own split comes from its progress calls. Both "
             "encode the same rendered texts, so the ratio is one of records per second (of times): where a style "
             "ends with the tokenizer's end-of-text (Llama-3's `<|eot_id|>`, Mistral's `</s>`, Phi-3.5's "
             "`<|endoftext|>`), the store keeps it as the separator after each example, outside the counted "
             "tokens, so counting tokens would charge the build one token per record it did encode."]
    for tokenizer in TOKENIZERS:
        build, raw = results.get(f"build-{tokenizer}"), results.get(f"raw-{tokenizer}")
        if build and raw:
            ratio = throughput_ratio(build, raw)
            if "cpu_s" in build and "encode_cpu_s" in raw:
                bound = raw["encode_cpu_s"] / build["cpu_s"]
                notes.append(f"{tokenizer}: CPU time (user + system, all threads and worker processes): the build "
                             f"{build['cpu_s']:.1f} s, the raw encoding {raw['encode_cpu_s']:.1f} s. Where the raw "
                             "encoding keeps every core busy, the throughput ratio cannot exceed their CPU time per "
                             f"record, {bound:.2f}, on any number of cores.")
            if abs(ratio - 0.90) < 0.05:
                notes.append(f"{tokenizer}: the throughput ratio {ratio:.2f} is one run, within 0.05 of its target; "
                             "on this machine the raw encoding's time varies by about 5% from run to run, so the "
                             "verdict on this ratio is within the noise.")
    if not full:
        notes.append("Smoke run: at this count the fixed costs of a build (plugin discovery, tokenizer load, "
                     "interpreter warm-up) weigh far more than at 1,000,000 records, so its ratios and memory say "
                     "little about the targets; it shows that every measurement runs.")
    absent = [name for name, ok in available.items() if not ok]
    if absent:
        notes.append(f"Not in this build of promptstyles: {', '.join(f'`{n}`' for n in absent)}; the build "
                     "ran in one process" + (" and read the whole JSONL into memory" if "streaming" in absent
                                             else "") + ".")
    notes.append("Peaks sampled every 50 ms can miss a spike shorter than that; the main process's `ru_maxrss` "
                 "is exact and is never below the sampled main-process RSS.")
    if "loader-gpt2-w2" in results:
        notes.append("DataLoader workers start by fork: they share the parent's pages copy-on-write, and a page "
                     "becomes a worker's own (its USS) only when it writes to it, e.g. the reference counts of "
                     "Python objects it touches. The ratio adds PSS over the main process and its workers.")
    return notes


def render_section(results: dict[str, Any], *, generated: dict[str, Any], features: list[str],
                   available: dict[str, bool], machine: dict[str, str], full: bool, argv: list[str]
                   ) -> tuple[str, str]:
    """The Markdown section of this run, and the target table as plain text for the terminal."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    kind = "full run" if full else "smoke run"
    targets = _targets(results, features)
    feature_text = ", ".join(f"`{name}` {'on' if name in features else ('off' if ok else 'absent')}"
                             for name, ok in available.items())
    tokens = {t: results[f"raw-{t}"]["tokens"] / results[f"raw-{t}"]["texts"] for t in TOKENIZERS
              if f"raw-{t}" in results}
    lines = [
        f"## {generated['records']:,} records ({kind}), {when}", "",
        f"Command: `python benchmarks/bench_scale.py {' '.join(argv)}`.".replace(" `.", "`."),
        f"Machine: {machine['machine']}, {machine['cores']} cores (load average {machine['load']} at the start), "
        f"Python {machine['python']}, torch {machine['torch']}, tiktoken {machine['tiktoken']}, tokenizers "
        f"{machine['tokenizers']}, numpy {machine['numpy']}. Features: {feature_text}.",
        f"Data: {generated['records']:,} generated records (seed {generated['seed']}), "
        f"{generated['bytes'] / MIB:,.1f} MiB of JSONL"
        + "".join(f", {value:.1f} rendered tokens per record with {name}" for name, value in tokens.items())
        + ".", "",
        *_table(["measure", "measured", "target", ""], [[n, v, t, verdict(ok)] for n, v, t, ok in targets]), "",
    ]
    build_rows = _build_rows(results)
    if build_rows:
        lines += ["### Build against the raw tokenizer", "",
                  "Peak memory: main = the process's `ru_maxrss`; children = the largest worker's (`RUSAGE_CHILDREN`, "
                  "a maximum, not a sum); tree RSS / PSS = summed over the process and its workers, sampled every "
                  "50 ms (`/proc/<pid>/smaps_rollup`). The verdict uses the larger of main and tree PSS.", "",
                  *_table(["tokenizer", "step", "time", "tokens", "tokens/s", "peak main", "peak child",
                           "tree RSS", "tree PSS", "store"], build_rows), ""]
    reloads = [[t, f"{r['load_dataset_s']:.3f} s", f"{r['prepare_data_s']:.2f} s", mib(r["tree_peak_rss"])]
               for t in TOKENIZERS if (r := results.get(f"reload-{t}"))]
    if reloads:
        lines += ["### Reload in a fresh process", "",
                  *_table(["tokenizer", "`load_dataset`", "second `prepare_data` (key, map, split)",
                           "tree peak RSS"], reloads), ""]
    shapes = results.get("shapes-gpt2")
    if shapes:
        lines += ["### Grouping and packing (GPT-2, training split = all records)", "",
                  *_table(["batches", "count", "positions", "real tokens", "padding"],
                          [[name, f"{v['batches']:,}", f"{v['positions']:,}", f"{v['real']:,}",
                            f"{v['padding_share']:.2%}"] for name, v in shapes.items() if isinstance(v, dict)]),
                  ""]
    loader_rows = _loader_rows(results)
    if loader_rows:
        start = results["loader-gpt2-w2"]["start_method"] if "loader-gpt2-w2" in results else "?"
        lines += [f"### DataLoader memory after {results['loader-gpt2-w0']['batches']} batches (GPT-2, batch size 8, "
                  f"workers started with `{start}`)", "",
                  "RSS counts a shared page in full in every process that maps it; PSS divides it among them, so "
                  "PSS adds up to what the processes occupy together; USS is what a process holds alone.", "",
                  *_table(["workers", "process", "RSS", "PSS", "USS"], loader_rows), ""]
    lines += ["### Notes", "", *(f"- {note}" for note in _notes(results, features, available, full, machine)), ""]
    text_rows: list[list[str]] = [[n, v, t, verdict(ok)] for n, v, t, ok in targets]
    width: Callable[[int], int] = lambda i: max(len(row[i]) for row in text_rows) if text_rows else 0  # noqa: E731
    table = "\n".join("  ".join(cell.ljust(width(i)) for i, cell in enumerate(row)) for row in text_rows)
    return "\n".join(lines), table


def update_results(path: Path, section: str, records: int) -> None:
    """Put ``section`` first in the scale region of ``path``, replacing an earlier one for the same record count;
    the other benchmarks' regions stay as they are."""
    old = read_region(path, REGION) or HEADER
    parts = re.split(r"(?m)^(?=## )", old)
    head, sections = parts[0], parts[1:]
    prefix = f"## {records:,} records "
    kept = [part.rstrip("\n") + "\n" for part in sections if not part.startswith(prefix)]
    write_region(path, REGION, head.rstrip("\n") + "\n\n" + "\n".join([section.rstrip("\n") + "\n", *kept]))
