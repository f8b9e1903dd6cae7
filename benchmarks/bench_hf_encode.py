"""Dataset build with a model's own tokenizer against that tokenizer's raw batch encoding of the same texts.

Run from the repository root (the shared dataset and tokenizer folders beside it):

    python benchmarks/bench_hf_encode.py                 # Qwen2.5 and Llama-3, in this process
    python benchmarks/bench_hf_encode.py --num-proc 2    # the build in 2 worker processes

Records: the shared dataset 20 times over as chat records (user = instruction + "\\n" + input, assistant =
output with its words shuffled, so no two answers repeat). Ours: ``tokenize_records`` (rendering, encoding,
part boundaries). Raw: ``tokenizers.Tokenizer.encode_batch(texts, add_special_tokens=False)`` of the rendered
texts, on all cores. Median of interleaved runs after a warm-up; the ratio is raw time / ours (the
project's target: at least 0.9). Prints a table; writes nothing.
"""

from __future__ import annotations

import argparse
import json
import random

import tokenizers
from bench_data import SHARED, interleaved

from promptstyles import get_style, to_record
from promptstyles.data.build.rendering import render_parts
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.tokenizers import get_tokenizer

MODELS = {"qwen2.5-7b-instruct": "qwen2.5", "llama-3-8b-instruct": "llama3"}


def records(copies: int, seed: int = 0) -> list:
    raw = json.loads((SHARED / "data" / "instruction-data.json").read_text(encoding="utf-8"))
    rng = random.Random(seed)
    out = []
    for _ in range(copies):
        for record in raw:
            words = record["output"].split(" ")
            rng.shuffle(words)
            user = record["instruction"] + ("\n" + record["input"] if record.get("input") else "")
            messages = [{"role": "user", "content": user}, {"role": "assistant", "content": " ".join(words)}]
            out.append(to_record({"messages": messages}, index=len(out)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-proc", type=int, default=1)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    data = records(args.copies)
    print(f"| model | records | tokens | ours (num_proc={args.num_proc}) | raw encode_batch | raw / ours |")
    print("|---|---|---|---|---|---|")
    for folder, style_name in MODELS.items():
        path = SHARED / "models" / folder
        tokenizer = get_tokenizer(None, path=str(path))
        style = get_style(style_name)
        texts = ["".join(part.text for part in render_parts(style, record)) for record in data]
        raw = tokenizers.Tokenizer.from_file(str(path / "tokenizer.json"))
        tokens = sum(len(encoding.ids) for encoding in raw.encode_batch(texts, add_special_tokens=False))
        times = interleaved({
            "ours": lambda: tokenize_records(data, style, tokenizer, num_proc=args.num_proc),  # noqa: B023
            "raw": lambda: raw.encode_batch(texts, add_special_tokens=False),  # noqa: B023
        }, args.repeat)
        print(f"| {folder} | {len(data)} | {tokens} | {times['ours']:.3f} s | {times['raw']:.3f} s | "
              f"{times['raw'] / times['ours']:.2f} |")


if __name__ == "__main__":
    main()
