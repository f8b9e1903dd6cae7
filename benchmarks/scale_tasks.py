"""The measurements of the scale benchmark; each runs alone in a fresh process (``bench_scale.py --child``).

Every task drives the product through its public path (``prepare_data`` / ``build_dataloaders`` from a config
mapping), so features that are config keys (``data.streaming``, ``data.num_proc``, ``collate.packing``) are
picked up by naming them in ``features``. Each returns a JSON-able dict; memory figures are added by the
parent (see ``scale_memory``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scale_memory import descendants, own_peaks, tree_memory

from promptstyles import to_record
from promptstyles.config import load_config
from promptstyles.data.sources.loading import load_records
from promptstyles.data.store.cache import dataset_key, file_key, load_dataset
from promptstyles.data.tokenizers.gpt2_files import load_encoding
from promptstyles.errors import ConfigError
from promptstyles.pipeline import build_dataloaders, build_tokenizer, padding_share, prepare_data

__all__ = ["FEATURES", "MODELS", "NUM_PROC", "ROW_LENGTH", "TASKS", "TOKENIZERS", "config_for",
           "supported_features"]

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
TOKENIZERS = {"gpt2": "alpaca", "qwen": "qwen2.5", "llama3": "llama3", "mistral": "mistral-v0.3", "phi3": "phi3"}
"""Each tokenizer the benchmark knows, with the style it builds with: GPT-2 (tiktoken) and the shared models'."""
MODELS = {name: SHARED / "models" / folder for name, folder in (
    ("qwen", "qwen2.5-7b-instruct"), ("llama3", "llama-3-8b-instruct"), ("mistral", "mistral-7b-instruct-v0.3"),
    ("phi3", "phi-3.5-mini-instruct"))}
NUM_PROC = "auto"  # all cores: one worker process per core, whatever the tokenizer
CORES = len(os.sched_getaffinity(0))  # what raw batch encoding runs on
ROW_LENGTH = 1024
BATCH_SIZE = 8
CHUNK = 20_000
# feature -> (section, key, value) of the config that turns it on
FEATURES = {"streaming": ("data", "streaming", True), "num_proc": ("data", "num_proc", NUM_PROC),
            "packing": ("collate", "packing", True)}


def supported_features() -> dict[str, bool]:
    """Which feature keys this build of the product accepts (an unknown key raises ``ConfigError`` naming it)."""
    out = {}
    for name, (section, key, value) in FEATURES.items():
        extra = {"collate": {"allowed_max_length": ROW_LENGTH}, "data": {"path": "records.jsonl"}}.get(section, {})
        try:
            load_config({section: {key: value, **extra}})
            out[name] = True
        except ConfigError as error:
            if error.path != f"{section}.{key}":
                raise
            out[name] = False
    return out


def config_for(tokenizer: str, data: str, cache_dir: str, features: list[str], **sections: dict) -> dict:
    """The config of a measurement: all records in the training split, the store in ``cache_dir``."""
    source = "gpt2" if tokenizer == "gpt2" else {"path": str(MODELS[tokenizer])}
    config: dict[str, Any] = {
        "style": TOKENIZERS[tokenizer], "tokenizer": source,
        "data": {"path": data, "format": "jsonl", "cache": True, "cache_dir": cache_dir,
                 "split": {"train": 1.0, "test": 0.0}},
        "collate": {}, "loader": {"batch_size": BATCH_SIZE, "shuffle": True, "drop_last": False},
    }
    for name in features:
        section, key, value = FEATURES[name]
        if name != "packing":  # packing changes batches, so only the packing measurement asks for it
            config[section][key] = value
    for section, values in sections.items():
        config[section].update(values)
    return config


def _config(task: dict, **sections: dict) -> dict:
    return config_for(task["tokenizer"], task["data"], task["cache_dir"], task["features"], **sections)


def folder_bytes(folder: str) -> int:
    return sum(path.stat().st_size for path in Path(folder).rglob("*") if path.is_file())


def cpu_seconds() -> float:
    """User + system CPU time of this process (all its threads) and of its waited-for worker processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def build(task: dict) -> dict:
    """(a) + (c): the first ``prepare_data`` of the records (read, validate, render, tokenize, store)."""
    marks: list[float] = []
    start, cpu = time.perf_counter(), cpu_seconds()
    prepared = prepare_data(_config(task), progress=lambda done, total: marks.append(time.perf_counter() - start))
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    lengths = prepared.dataset.lengths
    clock = time.perf_counter()
    build_tokenizer(prepared.config, prepared.style)  # what loading the tokenizer costs inside the build
    return {"seconds": seconds, "examples": len(lengths), "tokens": int(lengths.sum()),
            "store_bytes": folder_bytes(task["cache_dir"]), "tokenizer_load_s": time.perf_counter() - clock,
            "cpu_s": cpu,
            "progress_s": [marks[0], marks[-1], len(marks)] if marks else None, **own_peaks()}


def _chunks(path: str) -> Iterator[list[str]]:
    with open(path, encoding="utf-8") as handle:
        lines: list[str] = []
        for line in handle:
            lines.append(line)
            if len(lines) == CHUNK:
                yield lines
                lines = []
        if lines:
            yield lines


def raw(task: dict) -> dict:
    """(b): the raw tokenizer's batch encoding of the rendered texts on all cores. Reading, validating and
    rendering are timed apart and left out of the encoding time; texts go in chunks, ids are dropped."""
    config = load_config(_config(task))
    style = config.build_style()
    if task["tokenizer"] == "gpt2":
        encoding = load_encoding("gpt2")

        def encode(texts: list[str]) -> int:
            return sum(map(len, encoding.encode_ordinary_batch(texts, num_threads=CORES)))
    else:
        import tokenizers

        tokenizer = tokenizers.Tokenizer.from_file(str(MODELS[task["tokenizer"]] / "tokenizer.json"))

        def encode(texts: list[str]) -> int:
            return sum(len(item.ids) for item in tokenizer.encode_batch(texts, add_special_tokens=False))
    times = {"read_s": 0.0, "render_s": 0.0, "encode_s": 0.0, "encode_cpu_s": 0.0}
    tokens = count = 0
    clock = time.perf_counter()
    for lines in _chunks(task["data"]):
        records = [to_record(json.loads(line), index=count + i) for i, line in enumerate(lines)]
        now = time.perf_counter()
        times["read_s"] += now - clock
        texts = [style.render(record).text for record in records]
        clock, cpu = time.perf_counter(), cpu_seconds()
        times["render_s"] += clock - now
        tokens += encode(texts)
        now = time.perf_counter()
        times["encode_s"] += now - clock
        times["encode_cpu_s"] += cpu_seconds() - cpu
        count += len(lines)
        clock = time.perf_counter()
    return {"texts": count, "tokens": tokens, **times, **own_peaks()}


def reload(task: dict) -> dict:
    """(d): in a fresh process, a whole second ``prepare_data`` (tokenizer load, the file hashed or the records
    read again, the store mapped and verified, the split), then ``load_dataset`` of the store alone (its key
    computed untimed first: from the file's bytes when streamed, else from the records)."""
    config = load_config(_config(task))
    start = time.perf_counter()
    prepare_data(config)
    prepare_s = time.perf_counter() - start
    style = config.build_style()
    tokenizer = build_tokenizer(config, style)
    mode = config.tokenizer.special_tokens
    if config.data.streaming:
        loading = {"format": config.data.format, "fields": dict(config.data.fields),
                   "on_invalid": config.data.on_invalid}
        key = file_key(config.data.source, loading, style, tokenizer, mode)
    else:
        key = dataset_key(load_records(config.data.source, format=config.data.format).records, style, tokenizer,
                          mode)
    start = time.perf_counter()
    dataset = load_dataset(key, task["cache_dir"])
    load_s = time.perf_counter() - start
    return {"load_dataset_s": load_s, "hit": dataset is not None, "prepare_data_s": prepare_s}


def shapes(task: dict) -> dict:
    """(e): padding share at batch size 8 with and without length grouping, and the real-token share of
    packed rows of ``ROW_LENGTH`` (when ``collate.packing`` exists), from ``DataLoaders.batch_shapes``."""
    prepared = prepare_data(_config(task))
    out: dict[str, Any] = {}
    variants: dict[str, dict[str, dict[str, Any]]] = {"grouped": {"loader": {"group_by_length": True}},
                                                      "random": {}}
    if "packing" in task["features"]:
        variants["packed"] = {"collate": {"packing": True, "allowed_max_length": ROW_LENGTH}}
    for name, sections in variants.items():
        config = load_config(_config(task, **sections))
        loaders = build_dataloaders(config, data=dataclasses.replace(prepared, config=config))
        batch_shapes = loaders.batch_shapes("train")
        out[name] = {"padding_share": padding_share(batch_shapes), "batches": len(batch_shapes),
                     "positions": sum(size * width for size, width, _ in batch_shapes),
                     "real": sum(real for *_, real in batch_shapes)}
    out["tokens"] = int(prepared.dataset.lengths.sum())
    return out


def loader(task: dict) -> dict:
    """(f): iterate a training DataLoader over the store, then read PSS/USS of the main process and each
    worker while the (persistent) workers are alive."""
    config = _config(task, loader={"num_workers": task["workers"]})
    loaders = build_dataloaders(config)
    others = set(descendants(os.getpid()))  # processes that are not the loader's (multiprocessing's helpers)
    start = time.perf_counter()
    batches = 0
    for _ in loaders.train:
        batches += 1
        if batches == task["batches"]:
            break
    seconds = time.perf_counter() - start
    members = [(pid, memory) for pid, memory in tree_memory(os.getpid()) if pid not in others]
    return {"batches": batches, "seconds": seconds, "main": members[0][1],
            "workers": [memory for _, memory in members[1:]], "start_method": _start_method(), **own_peaks()}


def _start_method() -> str:
    import multiprocessing

    return multiprocessing.get_start_method()


TASKS = {"build": build, "raw": raw, "reload": reload, "shapes": shapes, "loader": loader}
