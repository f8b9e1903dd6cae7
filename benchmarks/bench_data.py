"""Data-path benchmark: promptstyles against the reference implementation and LitGPT's SFT collate.

Run from the repository root (the shared dataset and tokenizer files beside it):

    python benchmarks/bench_data.py                # prints a table, writes benchmarks/RESULTS.md

Everything is measured in one run on the same token sequences, and reported as ratios:
- dataset build: records -> token storage (ours) vs the reference ``InstructionDataset``, and vs raw tiktoken
  encoding of the same rendered texts (the floor: everything but encoding should cost next to nothing);
- the data path from index to batch tensors through a DataLoader: batch size 8 on the shared dataset, and
  batch size 32 on 300-1000-token sequences built by concatenating records;
- bytes of memory per stored token.

The reference is the published ``llms_from_scratch.ch07`` module (``pip install --no-deps llms-from-scratch``)
or, without it, the same code from the test suite. LitGPT (``pip install litgpt``) is optional; its collate
is handed ready tensors, so its per-item tokenization is not counted.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(SHARED / "tiktoken"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import tiktoken  # noqa: E402
import torch  # noqa: E402
from results_file import write_region  # noqa: E402

from promptstyles import get_style, to_record  # noqa: E402
from promptstyles._io import atomic_write_bytes  # noqa: E402
from promptstyles.data.batches.samplers import IndexBatchSampler  # noqa: E402
from promptstyles.data.build.tokenize import tokenize_records  # noqa: E402
from promptstyles.data.store.cache import dataset_key, load_dataset, save_dataset  # noqa: E402
from promptstyles.data.tokenizers import get_tokenizer  # noqa: E402
from promptstyles.data.tokenizers.gpt2_files import load_encoding  # noqa: E402
from promptstyles.pipeline import build_dataloaders  # noqa: E402

TARGETS = {
    "path8_ref": 15.0, "path8_litgpt": 2.0, "path32_ref": 80.0, "path32_litgpt": 2.5,
    "build_ref": 1.5, "build_raw": 0.85, "bytes_per_token": 3.0,
}
RATIOS_FILE = ROOT / "benchmarks" / "RESULTS-data.json"
RATIOS = ("path8_ref", "path8_litgpt", "path32_ref", "path32_litgpt", "build_ref", "build_cached_ref", "build_raw")
"""The measured ratios (higher is better) that ``benchmarks/RESULTS-data.json`` records for the regression check."""


def reference_module():
    try:
        from llms_from_scratch import ch07

        return ch07, "llms_from_scratch.ch07 (published)"
    except ImportError:
        sys.path.insert(0, str(ROOT / "tests"))
        import reference_collate as module

        module.InstructionDataset = module.ReferenceDataset
        module.custom_collate_fn = module.reference_collate
        return module, "tests/reference_collate.py (llms-from-scratch not installed)"


def litgpt_collate() -> Callable | None:
    try:
        from litgpt.data.base import get_sft_collate_fn
    except Exception:  # optional peer: absent or broken installs are reported, not fatal
        return None
    return get_sft_collate_fn(max_seq_length=1024, pad_id=50256, ignore_index=-100)


def interleaved(runs: dict[str, Callable[[], object]], repeat: int, min_seconds: float = 0.0) -> dict[str, float]:
    """Median seconds of each run after one warm-up each; the runs take turns, so a change in the load of
    a busy machine falls on all of them alike.

    With ``min_seconds``, a timing repeats a run that many times over, at least (counted from its warm-up),
    and divides: on a shared machine a run of a millisecond either dodges the other processes or loses a
    whole time slice to them, while a run of a second always shares the processor; timings of like length
    share it alike.
    """
    times: dict[str, list[float]] = {name: [] for name in runs}
    loops: dict[str, int] = {}
    for name, run in runs.items():
        start = time.perf_counter()
        run()
        loops[name] = max(1, math.ceil(min_seconds / max(time.perf_counter() - start, 1e-9)))
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            for _ in range(loops[name]):
                run()
            times[name].append((time.perf_counter() - start) / loops[name])
    return {name: statistics.median(values) for name, values in times.items()}


def epoch(loader: Iterable) -> int:
    count = 0
    for _ in loader:
        count += 1
    return count


def long_records(raw: list[dict], count: int, seed: int = 0) -> list[dict]:
    """Records of 300-1000 tokens (rendered with Alpaca), made by concatenating consecutive shared records."""
    encoding = load_encoding("gpt2")
    style = get_style("alpaca")
    rng = np.random.default_rng(seed)
    out, position = [], 0
    for _ in range(count):
        target = int(rng.integers(300, 1001))
        fields = {"instruction": [], "input": [], "output": []}
        merged: dict = {}
        while True:
            record = raw[position % len(raw)]
            position += 1
            trial = {key: [*values, record[key]] if record[key] else values for key, values in fields.items()}
            candidate = {key: " ".join(values) for key, values in trial.items()}
            length = len(encoding.encode_ordinary(style.render(to_record(candidate)).text))
            if length > 1000:
                break
            fields, merged = trial, candidate
            if length >= target:
                break
        out.append(merged)
    return out


def litgpt_samples(sequences: list[list[int]]) -> list[dict]:
    samples = []
    for ids in sequences:
        tensor = torch.tensor([*ids, 50256])
        samples.append({"input_ids": tensor, "labels": tensor.clone(),
                        "token_counts": {"raw": len(ids), "raw_plus_prompt_template": len(ids)}})
    return samples


class EmptyDataset(torch.utils.data.Dataset):
    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitems__(self, indices):
        return indices


def data_path(raw: list[dict], batch_size: int, repeat: int, ref, litgpt) -> dict:
    """Per-batch microseconds of each pipeline over one epoch of the same records, the pipelines taking turns.

    Ours is what a second run of a config gets by default: the dataset loaded from the store, memory-mapped.
    """
    encoding = load_encoding("gpt2")
    config = {"style": "alpaca", "collate": {"allowed_max_length": 1024},
              "data": {"split": {"train": 1.0, "test": 0.0}, "cache": True,
                       "cache_dir": tempfile.mkdtemp(prefix="promptstyles-bench-")},
              "loader": {"batch_size": batch_size, "shuffle": False, "drop_last": False}}
    records = [to_record(r, index=i) for i, r in enumerate(raw)]
    build_dataloaders(config, records=records)  # the first run builds the store
    ours = build_dataloaders(config, records=records).train
    assert isinstance(ours.dataset.tokens, np.memmap), "the second run should load the store"
    reference_dataset = ref.InstructionDataset(raw, encoding)
    reference = torch.utils.data.DataLoader(
        reference_dataset, batch_size=batch_size, shuffle=False, drop_last=False,
        collate_fn=functools.partial(ref.custom_collate_fn, allowed_max_length=1024, device="cpu"))
    empty = torch.utils.data.DataLoader(EmptyDataset(len(raw)), batch_sampler=IndexBatchSampler(len(raw), batch_size),
                                        collate_fn=lambda batch: batch)
    batches = len(ours)
    for mine, theirs in zip(ours, reference, strict=True):  # same batches, so the timings compare like for like
        assert torch.equal(mine.inputs, theirs[0]) and torch.equal(mine.targets, theirs[1])
    runs = {"ours": ours, "ref": reference, "empty": empty}
    if litgpt is not None:
        samples = litgpt_samples(reference_dataset.encoded_texts if hasattr(reference_dataset, "encoded_texts")
                                 else reference_dataset.encoded)
        runs["litgpt"] = torch.utils.data.DataLoader(samples, batch_size=batch_size, shuffle=False, collate_fn=litgpt)
    seconds = interleaved({name: functools.partial(epoch, loader) for name, loader in runs.items()}, repeat,
                          min_seconds=0.1)
    return {
        "batches": batches,
        "tokens": int(ours.dataset.lengths.sum()),
        **{f"{name}_us": value / batches * 1e6 for name, value in seconds.items()},
        "min_len": int(ours.dataset.lengths.min()), "max_len": int(ours.dataset.lengths.max()),
    }


def dataset_build(raw: list[dict], repeat: int, ref) -> dict:
    encoding = load_encoding("gpt2")
    style = get_style("alpaca")
    tokenizer = get_tokenizer("gpt2")
    records = [to_record(r, index=i) for i, r in enumerate(raw)]
    texts = [style.render(r).text for r in records]
    tokens = sum(len(ids) for ids in encoding.encode_ordinary_batch(texts))
    dataset = tokenize_records(records, style, tokenizer)
    folder = tempfile.mkdtemp(prefix="promptstyles-bench-")
    save_dataset(dataset, dataset_key(records, style, tokenizer, "text"), folder)

    def cached() -> None:
        assert load_dataset(dataset_key(records, style, get_tokenizer("gpt2"), "text"), folder) is not None

    seconds = interleaved({
        # A fresh tokenizer per build: nothing is reused from an earlier run.
        "ours_s": lambda: tokenize_records(records, style, get_tokenizer("gpt2")),
        "ours_validated_s": lambda: tokenize_records([to_record(r, index=i) for i, r in enumerate(raw)], style,
                                                     get_tokenizer("gpt2")),
        "ours_cached_s": cached,
        "ref_s": lambda: ref.InstructionDataset(raw, encoding),
        "raw_batch_s": lambda: encoding.encode_ordinary_batch(texts),
        "raw_loop_s": lambda: [encoding.encode_ordinary(t) for t in texts],
    }, repeat)
    return {
        "records": len(records),
        "tokens": tokens,
        **seconds,
        "bytes_per_token": dataset.nbytes / int(dataset.lengths.sum()),
        "token_buffer_bytes_per_token": dataset.tokens.nbytes / int(dataset.lengths.sum()),
    }


def verdict(value: float, target: float, higher: bool = True) -> str:
    ok = value >= target if higher else value <= target
    return "met" if ok else "**missed**"


def measured_ratios(build: dict, short: dict, long: dict) -> dict[str, float]:
    """The ratios of :data:`RATIOS` that this run measured (LitGPT's only when it is installed)."""
    ratios = {"path8_ref": short["ref_us"] / short["ours_us"], "path32_ref": long["ref_us"] / long["ours_us"],
              "build_ref": build["ref_s"] / build["ours_s"],
              "build_cached_ref": build["ref_s"] / build["ours_cached_s"],
              "build_raw": build["raw_batch_s"] / build["ours_s"]}
    if "litgpt_us" in short:
        ratios["path8_litgpt"] = short["litgpt_us"] / short["ours_us"]
        ratios["path32_litgpt"] = long["litgpt_us"] / long["ours_us"]
    return {name: ratios[name] for name in RATIOS if name in ratios}


def report(build: dict, short: dict, long: dict, reference_name: str, load: list[tuple[float, ...]],
           repeat: int) -> str:
    ratios = measured_ratios(build, short, long)
    rows = []

    def row(name: str, value: float, target: float, higher: bool = True, unit: str = "x") -> None:
        sign = ">=" if higher else "<="
        rows.append(f"| {name} | {value:.2f}{unit} | {sign} {target}{unit} | {verdict(value, target, higher)} |")

    labels = {
        "path8_ref": "data path, batch 8: reference time / ours",
        "path8_litgpt": "data path, batch 8: LitGPT collate time / ours",
        "path32_ref": "data path, batch 32 long: reference time / ours",
        "path32_litgpt": "data path, batch 32 long: LitGPT collate time / ours",
        "build_ref": "dataset build, first time: reference time / ours",
        "build_cached_ref": "dataset build, from the dataset cache: reference time / ours",
        "build_raw": "dataset build: our throughput / raw tiktoken batch encoding",
    }
    for name, value in ratios.items():
        row(labels[name], value, TARGETS.get(name, TARGETS["build_ref"]))
    row("memory: bytes per stored token (all arrays)", build["bytes_per_token"], TARGETS["bytes_per_token"],
        higher=False, unit="")
    litgpt_available = "path8_litgpt" in ratios

    def us(value: float) -> str:
        return f"{value:.1f} µs"

    def speed(label: str, data: dict) -> list[str]:
        lines = [f"| {label}: promptstyles (DataLoader from build_dataloaders) | {us(data['ours_us'])} | 1.00 |",
                 f"| {label}: reference DataLoader + custom_collate_fn | {us(data['ref_us'])} | "
                 f"{data['ref_us'] / data['ours_us']:.2f} |"]
        if "litgpt_us" in data:
            lines.append(f"| {label}: LitGPT get_sft_collate_fn on ready tensors | {us(data['litgpt_us'])} | "
                         f"{data['litgpt_us'] / data['ours_us']:.2f} |")
        lines.append(f"| {label}: empty DataLoader, same batch sampler (floor) | {us(data['empty_us'])} | "
                     f"{data['empty_us'] / data['ours_us']:.2f} |")
        return lines

    build_rows = [
        ("promptstyles tokenize_records (render + encode + storage), fresh tokenizer", build["ours_s"]),
        ("promptstyles, including record validation (to_record)", build["ours_validated_s"]),
        ("promptstyles, again: cache key of the records + verified load", build["ours_cached_s"]),
        ("reference InstructionDataset", build["ref_s"]),
        ("raw tiktoken encode_ordinary_batch of the rendered texts", build["raw_batch_s"]),
        ("raw tiktoken encode_ordinary loop of the rendered texts", build["raw_loop_s"]),
    ]
    lines = [
        "# Data-path benchmark results",
        "",
        f"Recorded {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} with `python benchmarks/bench_data.py`"
        f" (median of {repeat} runs after a warm-up).",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}, tiktoken {tiktoken.__version__}, numpy {np.__version__}; load average "
        f"{', '.join(f'{value:.1f}' for value in load[0])} at the start, "
        f"{', '.join(f'{value:.1f}' for value in load[1])} at the end (the machine is shared).",
        f"Reference: {reference_name}. LitGPT: {'installed' if litgpt_available else 'not installed'}.",
        "",
        "## Targets",
        "",
        "| measure | measured | target | |",
        "|---|---|---|---|",
        *rows,
        "",
        "## Data path: time per batch (one epoch; ratio = time / ours; the pipelines take turns)",
        "",
        f"Batch size 8: the shared dataset, {short['batches']} batches, {short['min_len']}-{short['max_len']} tokens "
        f"per example. Batch size 32: {long['batches']} batches of records concatenated to "
        f"{long['min_len']}-{long['max_len']} tokens. Ours is the second run of the config, its dataset loaded "
        "from the store (memory-mapped). Every batch of ours was checked tensor-equal to the reference's before "
        "timing.",
        "",
        "| pipeline | per batch | ratio |",
        "|---|---|---|",
        *speed("batch 8", short),
        *speed("batch 32 long", long),
        "",
        f"## Dataset build ({build['records']} records, {build['tokens']} tokens)",
        "",
        "| step | time | tokens/s | vs ours |",
        "|---|---|---|---|",
        *[f"| {name} | {seconds * 1e3:.2f} ms | {build['tokens'] / seconds / 1e6:.2f} M | "
          f"{seconds / build['ours_s']:.2f} |" for name, seconds in build_rows],
        "",
        f"Memory: {build['bytes_per_token']:.3f} bytes per stored token for all arrays (token buffer alone: "
        f"{build['token_buffer_bytes_per_token']:.3f}: uint16 ids plus one end-of-text per example).",
        "",
        "## Notes",
        "",
        "- A first build renders every record in Python and encodes it with tiktoken, which holds the GIL, so "
        "threads do not help. Markup a style repeats is cut off at exact pre-token boundaries and encoded once "
        "per dataset, which is why a first build beats even a bare `encode_ordinary` loop over the rendered "
        "texts; what remains is tiktoken's time for the records' own text plus about 5 µs of Python per record. "
        "Later builds of the same records, style and tokenizer load the verified dataset cache instead.",
        "- `encode_ordinary_batch` runs tiktoken on a thread pool; on this 2-core machine its overhead makes it "
        "slower than a plain loop, so both are listed.",
        "- LitGPT's collate is timed on ready tensors (its per-item tokenization is not counted); ours includes "
        "the whole path from indices to tensors through the `torch.utils.data.DataLoader` that `build_dataloaders` "
        "returns. Without worker processes that loader builds each batch itself (sampler, `__getitems__`, "
        "collator) instead of going through torch's per-batch iterator, whose profiler scope and fetcher cost "
        "more than collating a short batch; the empty DataLoader row shows what torch's iterator alone costs.",
        "",
    ]
    return "\n".join(lines)


def write_ratios(path: Path, build: dict, short: dict, long: dict, load: list[tuple[float, ...]]) -> None:
    """The run's ratios as JSON, for ``check_regression.py`` to compare a later run against."""
    payload = {"recorded": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "command": "python benchmarks/bench_data.py", "load_average": [list(load[0]), list(load[1])],
               "ratios": {name: round(value, 3) for name, value in measured_ratios(build, short, long).items()}}
    atomic_write_bytes(path, (json.dumps(payload, indent=2) + "\n").encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--long-records", type=int, default=512)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    parser.add_argument("--ratios", type=Path, default=RATIOS_FILE, help="where the ratios go as JSON")
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "instruction-data.json")
    args = parser.parse_args(argv)
    raw = json.loads(args.data.read_text(encoding="utf-8"))
    ref, reference_name = reference_module()
    litgpt = litgpt_collate()
    load = [os.getloadavg()]
    build = dataset_build(raw, args.repeat, ref)
    short = data_path(raw, 8, args.repeat, ref, litgpt)
    long = data_path(long_records(raw, args.long_records), 32, args.repeat, ref, litgpt)
    load.append(os.getloadavg())
    text = report(build, short, long, reference_name, load, args.repeat)
    write_region(args.output, "data", text)  # other benchmarks' regions of the file stay
    write_ratios(args.ratios, build, short, long, load)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
