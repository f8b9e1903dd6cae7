"""Reload time of the dataset store: a synthetic dataset of 1M examples of ~100 tokens, written once, loaded.

Run: ``python benchmarks/store_reload.py [--examples N] [--dir DIR]``. The load is what every training run and
every DataLoader worker or DDP rank pays: the metadata, file sizes, index checksums and sampled token blocks, with
the token file unchanged since it was last hashed whole. A load after the token file changed (its stamp differs
from the verification record: here its modification time is touched) hashes every token, once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

from promptstyles.data.arrays import block_offsets
from promptstyles.data.store.entries import load_dataset, save_dataset, verify_store
from promptstyles.data.tokenized import TokenizedDataset

RUNS = 4  # runs per example: prompt, header, response, end


def synthetic(examples: int, seed: int = 0) -> TokenizedDataset:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(50, 151, examples).astype(np.int32)
    starts = block_offsets(lengths + 1)[:-1]
    tokens = rng.integers(0, 50256, int(lengths.sum()) + examples, dtype=np.uint16)
    tokens[starts + lengths] = 50256
    cuts = np.sort(rng.integers(1, lengths[:, None], (examples, RUNS - 1)), axis=1)
    run_ends = np.concatenate([cuts, lengths[:, None]], axis=1).astype(np.int32).ravel()
    kinds = np.tile(np.array([1, 2, 3, 4], dtype=np.uint8), examples)
    offsets = np.arange(examples + 1, dtype=np.int64) * RUNS
    return TokenizedDataset(tokens, starts, lengths, run_ends, kinds, offsets, eos_id=50256, vocab_size=50257)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=1_000_000)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    directory = args.dir or tempfile.mkdtemp(prefix="store-bench-")
    dataset = synthetic(args.examples)
    start = time.perf_counter()
    path = save_dataset(dataset, "bench", directory)
    written = time.perf_counter() - start
    assert path is not None
    size = sum(file.stat().st_size for file in path.iterdir())
    times = []
    for _ in range(5):
        start = time.perf_counter()
        loaded = load_dataset("bench", directory)
        times.append(time.perf_counter() - start)
        assert loaded is not None and len(loaded) == args.examples
    changed = []
    for _ in range(3):
        os.utime(path / "tokens.bin")  # another stamp: the next load hashes the token file whole
        start = time.perf_counter()
        assert load_dataset("bench", directory) is not None
        changed.append(time.perf_counter() - start)
    start = time.perf_counter()
    assert verify_store("bench", directory) is None
    verified = time.perf_counter() - start
    print(f"{args.examples} examples, {int(dataset.lengths.sum())} tokens, store {size / 2**20:.0f} MiB")
    print(f"write {written:.2f} s; load median {statistics.median(times) * 1000:.0f} ms "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); load after a change (tokens hashed whole) "
          f"median {statistics.median(changed):.2f} s; full verify {verified:.2f} s")


if __name__ == "__main__":
    main()
