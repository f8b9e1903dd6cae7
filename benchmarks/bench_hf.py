"""Real-model benchmark: promptstyles against Hugging Face ``datasets`` + ``apply_chat_template`` +
``DataCollatorForSeq2Seq`` (what users pick today), on the shared dataset with the Qwen2.5 tokenizer.

Run from the repository root (the shared dataset and tokenizer folders beside it):

    python benchmarks/bench_hf.py                  # prints a table, writes benchmarks/RESULTS-hf.md

Both sides start from the same records as chat conversations (user = instruction + "\\n" + input when there
is an input, assistant = output) and the folder ``../shared/models/qwen2.5-7b-instruct``. Ours goes through the
config path (style ``qwen2.5``, ``tokenizer: {path: ...}``, mask ``assistant``); the peer is the recipe of the
Hugging Face docs: ``Dataset.from_list(...).map(..., batched=True)`` with ``tokenizer.apply_chat_template``
(labels: the ids with the generation prompt's ids masked), then a torch DataLoader with
``DataCollatorForSeq2Seq``. Everything else is left at the peer's defaults (no ``num_proc``, no
``set_format``). Before timing, the ids and trained labels of both sides are compared example by example.
Reported as ratios (peer time / ours) for the dataset build (first time, and ours from its dataset cache) and
for the data path from indices to padded batch tensors over one epoch at batch size 8.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import os
import platform
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import datasets  # a benchmark-only peer
import numpy as np
import tokenizers
import torch
import transformers
from bench_data import ROOT, SHARED, EmptyDataset, epoch, interleaved

from promptstyles import get_style, to_record
from promptstyles._io import atomic_write_bytes
from promptstyles.data.batches.samplers import IndexBatchSampler
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.pipeline import build_dataloaders, prepare_data

MODEL = SHARED / "models" / "qwen2.5-7b-instruct"
IGNORE = -100


def as_chat(record: dict) -> list[dict]:
    user = record["instruction"] + ("\n" + record["input"] if record.get("input") else "")
    return [{"role": "user", "content": user}, {"role": "assistant", "content": record["output"]}]


def chat_records(raw: list[dict]) -> list:
    return [to_record({"messages": as_chat(record)}, index=index) for index, record in enumerate(raw)]


def our_config(model: Path, cache_dir: str | None, attention_mask: bool = False) -> dict:
    return {"style": "qwen2.5", "tokenizer": {"path": str(model)},
            "data": {"split": {"train": 1.0, "test": 0.0}, "cache": cache_dir is not None, "cache_dir": cache_dir},
            "collate": {"mask": "assistant", "attention_mask": attention_mask},
            "loader": {"batch_size": 8, "shuffle": False, "drop_last": False}}


def our_build(raw: list[dict], model: Path, cache_dir: str | None = None):
    """Records -> chat records -> tokenized dataset, the way a user's script does it (tokenizer loaded too)."""
    return prepare_data(our_config(model, cache_dir), records=chat_records(raw))


def hf_map(tokenizer: Any, raw: list[dict], fingerprint: str | None = None) -> datasets.Dataset:
    """The peer's build: input ids from the chat template, labels with the generation prompt masked.

    ``fingerprint`` given skips hashing the function (and the tokenizer it holds) for the dataset's
    fingerprint: not the default, timed only to show where the default's time goes."""

    def tokenize(batch: dict) -> dict:
        full = tokenizer.apply_chat_template(batch["messages"], tokenize=True)
        prompts = tokenizer.apply_chat_template([m[:-1] for m in batch["messages"]], tokenize=True,
                                                add_generation_prompt=True)
        labels = [[IGNORE] * len(p) + ids[len(p):] for ids, p in zip(full["input_ids"], prompts["input_ids"],
                                                                     strict=True)]
        return {"input_ids": full["input_ids"], "attention_mask": full["attention_mask"], "labels": labels}

    dataset = datasets.Dataset.from_list([{"messages": as_chat(record)} for record in raw])
    return dataset.map(tokenize, batched=True, remove_columns=["messages"], new_fingerprint=fingerprint)


def hf_build(raw: list[dict], model: Path) -> tuple[Any, datasets.Dataset]:
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model))
    return tokenizer, hf_map(tokenizer, raw)


def hf_loader(tokenizer: Any, dataset: datasets.Dataset) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(dataset, batch_size=8, collate_fn=transformers.DataCollatorForSeq2Seq(tokenizer))


def compare(ours: Any, theirs: torch.utils.data.DataLoader, stored: Any, peer: datasets.Dataset, tokenizer) -> dict:
    """Example by example: equal input ids, and the trained labels aligned (our targets are shifted by one)."""
    same_ids = sum(stored[i].tolist() == peer[i]["input_ids"] for i in range(len(peer)))
    same_labels = same_with_end = same_rows = 0
    differences: collections.Counter[str] = collections.Counter()
    for mine, batch in zip(ours, theirs, strict=True):
        lengths = batch["attention_mask"].sum(dim=1).tolist()
        for row, length in enumerate(lengths):
            same_rows += mine.inputs[row, :length].tolist() == batch["input_ids"][row, :length].tolist()
            shifted = [*batch["labels"][row, 1:length].tolist(), IGNORE]  # the peer's label for each next token
            targets = mine.targets[row, :length].tolist()
            same_labels += targets[:-1] == shifted[:-1]
            same_with_end += targets == shifted
            for position, (a, b) in enumerate(zip(targets, shifted, strict=True)):
                if a != b:
                    where = "last position" if position == length - 1 else "inside the example"
                    label = lambda t: "masked" if t == IGNORE else repr(tokenizer.decode([t]))  # noqa: E731
                    differences[f"{where}: ours {label(a)}, peer {label(b)}"] += 1
    return {"examples": len(peer), "same_ids": same_ids, "same_batch_rows": same_rows,
            "same_labels": same_labels, "same_with_end": same_with_end, "label_differences": dict(differences)}


def dataset_build(raw: list[dict], model: Path, repeat: int) -> dict:
    folder = tempfile.mkdtemp(prefix="promptstyles-bench-hf-")
    filled = our_build(raw, model, folder).dataset
    cached = our_build(raw, model, folder).dataset
    assert len(list(Path(folder, "datasets").iterdir())) == 1 and np.array_equal(filled.tokens, cached.tokens)
    tokenizer = get_tokenizer(path=model)
    peer_tokenizer = transformers.AutoTokenizer.from_pretrained(str(model))
    style = get_style("qwen2.5")
    rendered = peer_tokenizer.apply_chat_template([as_chat(record) for record in raw], tokenize=False)
    raw_tokenizer = tokenizers.Tokenizer.from_file(str(model / "tokenizer.json"))
    timings = interleaved({
        "ours_s": lambda: our_build(raw, model),
        "ours_cached_s": lambda: our_build(raw, model, folder),
        "hf_s": lambda: hf_build(raw, model),
        "ours_tokenizer_s": lambda: get_tokenizer(path=model),
        "hf_tokenizer_s": lambda: transformers.AutoTokenizer.from_pretrained(str(model)),
        # With a tokenizer already loaded (one object reused across runs, on both sides).
        "ours_loaded_s": lambda: tokenize_records(chat_records(raw), style, tokenizer),
        "hf_loaded_s": lambda: hf_map(peer_tokenizer, raw),
        "hf_unhashed_s": lambda: hf_map(peer_tokenizer, raw, fingerprint="bench"),
        "raw_batch_s": lambda: raw_tokenizer.encode_batch(rendered, add_special_tokens=False),
    }, repeat)
    return {"records": len(raw), "tokens": int(filled.lengths.sum()), **timings}


def data_path(raw: list[dict], model: Path, repeat: int) -> tuple[dict, dict]:
    """Per-batch microseconds over one epoch at batch size 8, after checking that both sides agree."""
    loaders = build_dataloaders(our_config(model, None), records=chat_records(raw))
    ours = loaders.train
    with_attention = build_dataloaders(None, data=loaders.data, attention_mask=True).train
    tokenizer, peer = hf_build(raw, model)
    theirs = hf_loader(tokenizer, peer)
    checks = compare(with_attention, theirs, loaders.datasets["train"], peer, tokenizer)
    empty = torch.utils.data.DataLoader(EmptyDataset(len(raw)), batch_sampler=IndexBatchSampler(len(raw), 8),
                                        collate_fn=lambda batch: batch)
    batches = len(ours)
    runs = {"ours_us": ours, "ours_attention_us": with_attention, "hf_us": theirs, "empty_us": empty}
    timings = interleaved({name: functools.partial(epoch, loader) for name, loader in runs.items()}, repeat)
    return {"batches": batches, **{name: seconds / batches * 1e6 for name, seconds in timings.items()}}, checks


def machine() -> str:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (f"Machine: {platform.machine()}, {os.cpu_count()} cores (load average "
            f"{load} at the start), Python {platform.python_version()}, torch {torch.__version__}, transformers "
            f"{transformers.__version__}, datasets {datasets.__version__}, tokenizers {tokenizers.__version__}, "
            f"numpy {np.__version__}.")


def report(build: dict, path: dict, checks: dict, repeat: int, host: str) -> str:
    ms = lambda seconds: f"{seconds * 1e3:.1f} ms"  # noqa: E731
    us = lambda micro: f"{micro:.1f} µs"  # noqa: E731
    ratios = [
        ("dataset build, first time (tokenizer load included)", build["hf_s"] / build["ours_s"]),
        ("dataset build, ours from the dataset cache (tokenizer load included)",
         build["hf_s"] / build["ours_cached_s"]),
        ("dataset build with a tokenizer already loaded", build["hf_loaded_s"] / build["ours_loaded_s"]),
        ("data path, batch 8: peer / ours with attention mask (same three tensors)",
         path["hf_us"] / path["ours_attention_us"]),
        ("data path, batch 8: peer / ours default (inputs and targets)", path["hf_us"] / path["ours_us"]),
    ]
    build_rows = [
        ("promptstyles `prepare_data` (chat records, tokenizer load, render + encode + storage, split)",
         build["ours_s"], build["ours_s"]),
        ("promptstyles `prepare_data` again: records' cache key, tokenizer load, verified cache load",
         build["ours_cached_s"], build["ours_s"]),
        ("peer: `AutoTokenizer.from_pretrained` + `Dataset.from_list` + `map(batched=True)`", build["hf_s"],
         build["ours_s"]),
        ("promptstyles tokenizer load alone (`get_tokenizer(path=...)`)", build["ours_tokenizer_s"], build["ours_s"]),
        ("peer tokenizer load alone (`AutoTokenizer.from_pretrained`)", build["hf_tokenizer_s"], build["ours_s"]),
        ("promptstyles `tokenize_records` with a loaded tokenizer", build["ours_loaded_s"], build["ours_loaded_s"]),
        ("peer `from_list` + `map` with a loaded tokenizer", build["hf_loaded_s"], build["ours_loaded_s"]),
        ("peer `from_list` + `map(..., new_fingerprint=...)`, a loaded tokenizer (not a default: skips hashing "
         "`map`'s function)", build["hf_unhashed_s"], build["ours_loaded_s"]),
        ("floor: `tokenizers` `encode_batch` of the template's rendered texts (no labels, no storage)",
         build["raw_batch_s"], build["ours_loaded_s"]),
    ]
    path_rows = [
        ("promptstyles DataLoader from `build_dataloaders` (inputs, targets)", path["ours_us"]),
        ("promptstyles, collator with `attention_mask` (inputs, targets, attention mask)", path["ours_attention_us"]),
        ("peer DataLoader + `DataCollatorForSeq2Seq` (input_ids, attention_mask, labels)", path["hf_us"]),
        ("empty DataLoader, same batch sampler (floor)", path["empty_us"]),
    ]
    differences = [f"  - {text}: {count} examples" for text, count in sorted(checks["label_differences"].items())]
    lines = [
        "# Real-model benchmark: promptstyles vs Hugging Face datasets + apply_chat_template",
        "",
        f"Recorded {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} with `python benchmarks/bench_hf.py`"
        f" (median of {repeat} runs after a warm-up; the runs of each table take turns). {host}",
        f"Data: the shared dataset, {build['records']} records as chat conversations, {build['tokens']} tokens "
        f"with the Qwen2.5-7B-Instruct tokenizer (`../shared/models/qwen2.5-7b-instruct`), style `qwen2.5`, mask "
        "`assistant`.",
        "",
        "## Ratios (peer time / ours; above 1: ours is faster)",
        "",
        "| measure | ratio |",
        "|---|---|",
        *[f"| {name} | {value:.2f}x |" for name, value in ratios],
        "",
        "## Agreement, checked before timing",
        "",
        f"- Input ids: {checks['same_ids']} of {checks['examples']} examples equal (our stored ids against the "
        "peer's `input_ids`); in the batches, the first `attention_mask.sum()` columns of each row are equal for "
        f"{checks['same_batch_rows']} of {checks['examples']} rows.",
        f"- Trained labels, comparing our targets with the peer's labels shifted by one (a causal LM shifts them "
        f"the same way inside its loss): equal at every position of the template's tokens for "
        f"{checks['same_labels']} of {checks['examples']} examples; equal including the target after the last "
        f"token for {checks['same_with_end']}. Differences, by position and kind:",
        *(differences or ["  - none"]),
        "",
        f"## Dataset build ({build['records']} records, {build['tokens']} tokens)",
        "",
        "| step | time | vs ours |",
        "|---|---|---|",
        *[f"| {name} | {ms(seconds)} | {seconds / base:.2f} |" for name, seconds, base in build_rows],
        "",
        f"## Data path: time per batch (batch size 8, {path['batches']} batches, one epoch, in order)",
        "",
        "| pipeline | per batch | peer / this |",
        "|---|---|---|",
        *[f"| {name} | {us(micro)} | {path['hf_us'] / micro:.2f} |" for name, micro in path_rows],
        "",
        "## Notes",
        "",
        "- The peer is the Hugging Face recipe at its defaults: `Dataset.from_list(...)` then `.map(tokenize, "
        "batched=True, remove_columns=...)` (the batched form the `datasets` docs recommend for tokenization; "
        "default batch size 1000, no `num_proc`), `apply_chat_template` on the batch's conversations, "
        "labels made by tokenizing the prompt with `add_generation_prompt=True` and masking that prefix, "
        "`DataCollatorForSeq2Seq(tokenizer)` (pads with the tokenizer's pad id and labels with -100) and a "
        "`torch.utils.data.DataLoader` with batch size 8, no workers, no `set_format`.",
        "- Most of the peer's `map` time is `datasets` fingerprinting: it hashes the function with dill, and with "
        "it the tokenizer the function holds (the whole vocabulary). A user can skip it with "
        "`new_fingerprint=...`; the row marked \"not a default\" shows that cost apart, and the ratios use the "
        "defaults.",
        "- A `Dataset.from_list` dataset lives in memory and `map` keeps no cache file for it, so every peer build "
        "is a first build; ours from the cache is compared against that.",
        "- Our labels train the same template tokens and, in addition, the model's EOS that our collator appends "
        "after the template's closing `<|im_end|>\\n` (one more target per example; the engine's documented "
        "EOS rule). Our rows pad with that EOS once, then the pad id; the peer pads with the pad id only.",
        "- A build includes loading the tokenizer on both sides, as a training script does; the rows with a "
        "loaded tokenizer reuse one tokenizer object across runs on both sides.",
        "- Other jobs on the machine make single timings noisy; the "
        "medians and the same-run ratios are what to read.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "RESULTS-hf.md")
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "instruction-data.json")
    parser.add_argument("--model", type=Path, default=MODEL)
    args = parser.parse_args(argv)
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    host = machine()
    raw = json.loads(args.data.read_text(encoding="utf-8"))
    path, checks = data_path(raw, args.model, args.repeat)
    build = dataset_build(raw, args.model, args.repeat)
    text = report(build, path, checks, args.repeat, host)
    atomic_write_bytes(args.output, text.encode("utf-8"))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
