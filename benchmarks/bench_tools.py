"""Tool-calling benchmark: building the sample tool dataset (``examples/data/tool-calls.jsonl``) with the Qwen2.5
tokenizer, promptstyles against Hugging Face ``datasets`` ``map`` + ``apply_chat_template(tools=...)``.

Run from the repository root (the shared tokenizer folder beside it; ``pip install datasets``):

    python benchmarks/bench_tools.py              # prints a table, writes benchmarks/RESULTS-tools.md

Both sides build input ids and trained labels (assistant turns: calls, text and end marker) from the same
records, repeated to ``--records`` conversations. The peer stores messages and tools as JSON strings (Arrow
would otherwise unify every call's arguments into one struct and add ``null`` keys, which changes what the
template writes) and labels each assistant turn by rendering prefixes, the usual recipe; ours renders once and
masks from part boundaries (``mask: assistant``). A last row builds the same with the ``chat-template`` style on
the model folder's own template (parts traced through it, ``styles/_template_trace.py``) instead of the
``qwen2.5`` plugin. Before timing, the ids and labels of each of ours are compared with the peer's record by
record. Reported as ratios (peer seconds / ours), medians of interleaved runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import datetime, timezone

import datasets  # a benchmark-only peer
import numpy as np
import transformers
from bench_data import ROOT, SHARED, interleaved
from results_file import write_region

from promptstyles import get_style, to_record
from promptstyles.data.batches.collate import Collator
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.tokenizers.hf.tokenizer import HFTokenizer

MODEL = SHARED / "models" / "qwen2.5-7b-instruct"
SAMPLE = ROOT / "examples" / "data" / "tool-calls.jsonl"
RESULTS = ROOT / "benchmarks" / "RESULTS-tools.md"


def raw_records(count: int) -> list[dict]:
    sample = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    return [sample[index % len(sample)] for index in range(count)]


def ours(raw: list[dict], tokenizer: HFTokenizer, style=None):
    """``qwen2.5`` by default; ``style`` the ``chat-template`` style of the same model folder (traced parts)."""
    dataset = tokenize_records([to_record(record, index=i) for i, record in enumerate(raw)],
                               style or get_style("qwen2.5"), tokenizer)
    dataset.spans("assistant")
    return dataset


def peer_map(reference):
    def encode(batch: dict) -> dict:
        ids, labels = [], []
        for messages_json, tools_json in zip(batch["messages"], batch["tools"], strict=True):
            messages, tools = json.loads(messages_json), json.loads(tools_json)
            full = reference.apply_chat_template(messages, tools=tools, tokenize=True, return_dict=False)
            label = [-100] * len(full)
            for k, message in enumerate(messages):  # each assistant turn: ids after its generation prompt
                if message["role"] == "assistant":
                    start = len(reference.apply_chat_template(messages[:k], tools=tools, tokenize=True,
                                                              add_generation_prompt=True, return_dict=False))
                    end = len(reference.apply_chat_template(messages[: k + 1], tools=tools, tokenize=True,
                                                            return_dict=False))
                    label[start:end] = full[start:end]
            ids.append(full)
            labels.append(label)
        return {"input_ids": ids, "labels": labels}

    return encode


def peer_ids(reference):
    """The ids alone (one render per record, no labels): a lower bound of the peer's work."""
    def encode(batch: dict) -> dict:
        return {"input_ids": [reference.apply_chat_template(json.loads(m), tools=json.loads(t), tokenize=True,
                                                            return_dict=False)
                              for m, t in zip(batch["messages"], batch["tools"], strict=True)]}

    return encode


def peer(raw: list[dict], reference, *, labels: bool = True):
    rows = [{"messages": json.dumps(r["messages"], ensure_ascii=False), "tools": json.dumps(r["tools"])} for r in raw]
    encode = peer_map(reference) if labels else peer_ids(reference)
    return datasets.Dataset.from_list(rows).map(encode, batched=True, remove_columns=["messages", "tools"],
                                                load_from_cache_file=False)


def check(built, theirs, tokenizer: HFTokenizer) -> None:
    """Same ids, and the same trained labels, record by record."""
    collate = Collator(pad_token_id=tokenizer.eos_id, eos_token_id=tokenizer.eos_id, mask="assistant")
    for index in range(len(built)):
        expected = theirs[index]["input_ids"]
        mine = [*built[index].tolist(), tokenizer.eos_id]
        assert mine == (expected if expected[-1] == tokenizer.eos_id else [*expected, tokenizer.eos_id]), index
        targets = collate(built.batch([index])).targets[0].numpy()
        labels = np.array([*theirs[index]["labels"][1:], -100])
        assert np.array_equal(targets[: len(labels) - 1] != -100, labels[:-1] != -100), index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    datasets.disable_progress_bars()
    tokenizer = HFTokenizer(MODEL)
    reference = transformers.PreTrainedTokenizerFast.from_pretrained(str(MODEL))
    raw = raw_records(args.records)
    traced = get_style("chat-template", template=str(MODEL))
    theirs = peer(raw, reference)
    check(ours(raw, tokenizer), theirs, tokenizer)
    check(ours(raw, tokenizer, traced), theirs, tokenizer)
    times = interleaved({"promptstyles": lambda: ours(raw, tokenizer), "datasets map": lambda: peer(raw, reference),
                         "ids only": lambda: peer(raw, reference, labels=False),
                         "chat-template": lambda: ours(raw, tokenizer, traced)}, args.repeat)
    ratio = times["datasets map"] / times["promptstyles"]
    ids_ratio = times["ids only"] / times["promptstyles"]
    traced_ratio = times["datasets map"] / times["chat-template"]
    table = (f"Built {args.records} tool conversations (`examples/data/tool-calls.jsonl` repeated) with the Qwen2.5 "
             f"tokenizer; ids and trained labels checked equal first; medians of {args.repeat} interleaved runs.\n\n"
             "| build | seconds | ratio (peer / ours) |\n|---|---|---|\n"
             f"| promptstyles (render once, mask from parts) | {times['promptstyles']:.2f} | 1.00 |\n"
             f"| datasets map + apply_chat_template(tools=...), labels by prefix renders | {times['datasets map']:.2f} "
             f"| {ratio:.1f} |\n"
             f"| the same map, ids only (no labels: a lower bound) | {times['ids only']:.2f} | {ids_ratio:.1f} |\n"
             f"| promptstyles `chat-template` on the model's own template (parts traced) | "
             f"{times['chat-template']:.2f} | {traced_ratio:.1f} |\n\n"
             f"Measured {datetime.now(timezone.utc):%Y-%m-%d} on {platform.processor() or platform.machine()}, "
             f"Python {sys.version.split()[0]}, transformers {transformers.__version__}, "
             f"datasets {datasets.__version__}.")
    print(table)
    write_region(RESULTS, "tools", "# Tool-calling build benchmark\n\n" + table)


if __name__ == "__main__":
    main()
