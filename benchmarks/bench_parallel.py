"""Parallel tokenization: ``tokenize_records`` serial and with ``num_proc``, against raw batch encoding.

Run from the repository root (the shared dataset and tokenizer files beside it):

    python benchmarks/bench_parallel.py                      # ~50k records, prints a markdown table
    python benchmarks/bench_parallel.py --distinct           # every replica's words shuffled (no repeats)

The shared dataset is replicated to about 50,000 records. Plain replicas repeat every line, which our
piece-wise tiktoken encoder caches (the markup a style repeats is the case it is built for); ``--distinct``
shuffles the words of each replica's lines, so every line is new text, as in a real large dataset. The raw
floor is the tokenizer alone on the same rendered texts, on every core: tiktoken's
``encode_ordinary_batch(texts, num_threads=cores)`` and ``tokenizers``' ``encode_batch`` (Rust thread pool).
Each of ours builds a fresh tokenizer, as a new run does.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(SHARED / "tiktoken"))

from promptstyles import get_style, to_record  # noqa: E402
from promptstyles.data.build.parallel import usable_cores  # noqa: E402
from promptstyles.data.build.tokenize import tokenize_records  # noqa: E402
from promptstyles.data.tokenizers import get_tokenizer  # noqa: E402
from promptstyles.data.tokenizers.gpt2_files import load_encoding  # noqa: E402

QWEN = SHARED / "models" / "qwen2.5-7b-instruct"


def shuffled(text: str, rng: random.Random) -> str:
    """The words of each line of ``text`` in a random order (same words, same line breaks)."""
    lines = []
    for line in text.split("\n"):
        words = line.split(" ")
        rng.shuffle(words)
        lines.append(" ".join(words))
    return "\n".join(lines)


def replicated(raw: list[dict], count: int, distinct: bool) -> list:
    rng = random.Random(0)
    records = []
    while len(records) < count:
        for item in raw:
            if distinct and len(records) >= len(raw):
                item = {key: shuffled(value, rng) for key, value in item.items()}
            records.append(to_record(item))
    return records[:count]


def best(run: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def raw_batch(name: str, texts: list[str], cores: int) -> Callable[[], object]:
    if name == "gpt2":
        encoding = load_encoding("gpt2")
        return lambda: encoding.encode_ordinary_batch(texts, num_threads=cores)
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(QWEN / "tokenizer.json"))
    return lambda: tokenizer.encode_batch(texts, add_special_tokens=False)


def measure(name: str, style_name: str, make: Callable[[], Any], records: list, cores: int, num_proc: int,
            repeat: int) -> str:
    """One table row: ours serial and with ``num_proc``, and the raw batch encoding of the same texts."""
    style = get_style(style_name)
    serial_s, dataset = best(lambda: tokenize_records(records, style, make()), repeat)
    parallel_s, _ = best(lambda: tokenize_records(records, style, make(), num_proc=num_proc), repeat)
    texts = ["".join(part.text for part in style.parts(record)) for record in records]
    raw_s, _ = best(raw_batch(name, texts, cores), repeat)
    tokens = int(dataset.lengths.sum())  # type: ignore[attr-defined]

    def rate(seconds: float) -> str:
        return f"{seconds:.2f} s ({tokens / seconds / 1e6:.2f} M tok/s)"

    return (f"| {make().name}, {style_name} | {tokens} | {rate(serial_s)} | {rate(parallel_s)} | {rate(raw_s)} "
            f"| {raw_s / serial_s:.2f} | {raw_s / parallel_s:.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=49_500)
    parser.add_argument("--distinct", action="store_true")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--num-proc", type=int, default=2)
    parser.add_argument("--only", choices=("gpt2", "qwen"), default=None)
    args = parser.parse_args(argv)
    raw = json.loads((SHARED / "data" / "instruction-data.json").read_text(encoding="utf-8"))
    records = replicated(raw, args.records, args.distinct)
    cores = usable_cores()
    cases = [("gpt2", "alpaca", lambda: get_tokenizer("gpt2")),
             ("qwen", "qwen2.5", lambda: get_tokenizer(path=QWEN))]
    print(f"{len(records)} records ({'distinct' if args.distinct else 'plain'} replicas), {cores} cores, "
          f"num_proc={args.num_proc}, best of {args.repeat}", file=sys.stderr)
    print("| tokenizer, style | tokens | serial | num_proc | raw batch, all cores | serial / raw throughput | "
          "num_proc / raw throughput |\n|---|---|---|---|---|---|---|")
    for name, style_name, make in cases:
        if not args.only or args.only == name:
            print(measure(name, style_name, make, records, cores, args.num_proc, args.repeat), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
