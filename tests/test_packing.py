"""Packed batches: exact rows on hand-made examples, the same trained targets as padded batches, seeded and
rank-aware rows, and at least 98% real tokens on the shared dataset at row length 1024."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from test_collate import SHORT, TWO_TURNS, H, P, R, _dataset

from promptstyles import get_style
from promptstyles.cli import main
from promptstyles.data.batches.collate import Collator
from promptstyles.data.batches.packed import PackedCollator, block_causal_mask
from promptstyles.data.batches.packing import PackedBatchSampler, best_fit_rows, pack_rows
from promptstyles.data.modes import MASK_MODES
from promptstyles.data.tokenizers.gpt2_files import load_encoding
from promptstyles.errors import ConfigError, DataError
from promptstyles.pipeline import build_dataloaders, padding_share

E, X = 50256, -100
THREE = ([40, 41, 42], [(P, 1), (H, 2), (R, 3)])


def pairs(rows):
    return np.array([(row, index) for row, members in enumerate(rows) for index in members], dtype=np.int64)


def test_hand_made_rows_are_exact():
    dataset = _dataset([TWO_TURNS, SHORT, THREE])
    collator = PackedCollator(Collator(mask="prompt", allowed_max_length=16, response_mask=True), 16)
    batch = collator(dataset.batch(pairs([[0, 1], [2]])))
    assert batch.inputs.tolist() == [[10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 30, 31, 32, 33],
                                     [40, 41, 42, *[E] * 13]]
    # TWO_TURNS ends with its end-of-text target; SHORT's first token (30) is no one's target
    assert batch.targets.tolist() == [[X, X, X, X, X, X, X, X, X, 20, 21, E, X, X, 33, E],
                                      [X, 42, E, *[X] * 13]]
    assert batch.position_ids.tolist() == [[*range(12), 0, 1, 2, 3], [0, 1, 2, *range(13)]]
    assert batch.cu_seqlens.dtype == torch.int32 and batch.cu_seqlens.tolist() == [0, 12, 16, 19, 32]
    assert torch.nonzero(batch.response_mask).tolist() == [[0, 9], [0, 14], [1, 1]]
    assert batch.attention_mask is None


def test_block_causal_mask_keeps_each_sequence_to_itself():
    mask = block_causal_mask(torch.tensor([[0, 1, 2, 0, 1, 0]]))
    expected = torch.tensor([[1, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0],
                             [0, 0, 0, 1, 0, 0], [0, 0, 0, 1, 1, 0], [0, 0, 0, 0, 0, 1]], dtype=torch.bool)
    assert mask.shape == (1, 1, 6, 6) and torch.equal(mask[0, 0], expected)


@pytest.mark.parametrize(("truncation", "targets"), [("reference", [31, 32, 33]), ("keep_eos", [31, 32, E])])
def test_an_example_longer_than_a_row_follows_the_truncation_policy(truncation, targets):
    dataset = _dataset([SHORT, THREE])
    collator = Collator(allowed_max_length=3, truncation=truncation)
    batch = PackedCollator(collator, 3)(dataset.batch(pairs([[0], [1]])))
    assert batch.inputs.tolist() == [[30, 31, 32], [40, 41, 42]]
    assert batch.targets.tolist() == [targets, [41, 42, E]]
    assert batch.targets[0].tolist() == collator(dataset.batch([0])).targets[0].tolist()


def one_at_a_time(sizes, row_length, order):
    """Best fit decreasing in plain Python: each item to the fullest row it fits (the longest-waiting on ties)."""
    free, since, rows, clock = [], [], [], itertools.count()
    for item in order:
        size = max(int(sizes[item]), 1)
        fits = [row for row, room in enumerate(free) if room >= size]
        if not fits:
            free.append(row_length - size), rows.append([]), since.append(0)
            fits = [len(rows) - 1]
        best = min(fits, key=lambda row: (free[row], since[row]))
        if rows[best]:
            free[best] -= size
        rows[best].append(int(item))
        since[best] = next(clock)
    return rows


def test_best_fit_rows_equal_the_one_at_a_time_algorithm():
    rng = np.random.default_rng(0)
    for trial in range(300):
        row_length = int(rng.integers(1, 40))
        sizes = rng.integers(0, row_length + 1, int(rng.integers(0, 80)))
        order, offsets = best_fit_rows(sizes, row_length, seed=trial)
        ties = np.random.default_rng(trial).permutation(len(sizes))
        expected = one_at_a_time(sizes, row_length, ties[np.argsort(-sizes[ties], kind="stable")])
        assert [order[a:b].tolist() for a, b in itertools.pairwise(offsets)] == expected


def test_pack_rows_places_every_item_once_within_the_row_length_and_beats_best_fit():
    rng = np.random.default_rng(1)
    sizes = rng.integers(40, 92, 1100)
    order, offsets = pack_rows(sizes, 1024, seed=3)
    assert sorted(order.tolist()) == list(range(1100))
    assert np.add.reduceat(sizes[order], offsets[:-1]).max() <= 1024
    assert len(offsets) - 1 < len(best_fit_rows(sizes, 1024, seed=3)[1]) - 1
    assert len(offsets) - 1 == -(-int(sizes.sum()) // 1024)  # no row more than the tokens need
    with pytest.raises(DataError, match="from 0 to the row length 1024"):
        pack_rows(np.array([1025]), 1024)


def test_a_million_examples_pack_in_seconds():
    lengths = np.clip(np.random.default_rng(4).lognormal(4.3, 0.6, 1_000_000), 1, 1024).astype(np.int64)
    started = time.perf_counter()
    order, offsets = pack_rows(lengths, 1024, seed=0)
    seconds = time.perf_counter() - started
    assert len(order) == 1_000_000 and int(lengths.sum()) / ((len(offsets) - 1) * 1024) > 0.999
    assert seconds < 5, f"packing took {seconds:.1f} s"


def epoch(sampler):
    return [batch.tolist() for batch in sampler]


def test_rows_are_seeded_and_change_with_the_epoch():
    lengths = np.random.default_rng(2).integers(1, 30, 200)

    def make(seed):
        return PackedBatchSampler(lengths, 32, 4, shuffle=True, seed=seed)

    def rows(batches):
        grouped: dict[tuple[int, int], set[int]] = {}
        for number, batch in enumerate(batches):
            for row, index in batch:
                grouped.setdefault((number, row), set()).add(index)
        return {frozenset(members) for members in grouped.values()}

    first = make(5)
    one, two = epoch(first), epoch(first)
    assert one == epoch(make(5)) and one != two and one != epoch(make(6))
    assert rows(one) != rows(two) and rows(one) != rows(epoch(make(6)))  # other examples share a row, not only
    assert len(rows(one)) == len(rows(two))  # another row order; as many rows, since only equal sizes swap
    first.set_epoch(1)
    assert epoch(first) == two
    for batches in (one, two):
        examples = [index for batch in batches for _, index in batch]
        assert sorted(examples) == list(range(200))
        assert len(batches) == len(first)


def test_ranks_get_equal_disjoint_shares_of_the_rows():
    lengths = np.random.default_rng(3).integers(1, 30, 500)
    whole = epoch(PackedBatchSampler(lengths, 32, 2, shuffle=True, seed=1))
    shares = [epoch(PackedBatchSampler(lengths, 32, 2, shuffle=True, seed=1, rank=rank, world_size=3))
              for rank in range(3)]
    assert len({len(share) for share in shares}) == 1 and len(shares[0]) == len(whole) // 3
    seen = [index for share in shares for batch in share for _, index in batch]
    assert len(seen) == len(set(seen))
    kept = whole[: 3 * len(shares[0])]
    assert sorted(seen) == sorted(index for batch in kept for _, index in batch)


def trained_pairs(inputs, targets, starts, ignore=X):
    """(context, target) for every trained target; ``starts[row][j]`` is where the sequence of place j begins."""
    found = Counter()
    for row, column in torch.nonzero(targets != ignore).tolist():
        first = starts[row][column]
        found[(tuple(inputs[row, first : column + 1].tolist()), int(targets[row, column]))] += 1
    return found


@pytest.mark.parametrize("mode", MASK_MODES)
@pytest.mark.parametrize("truncation", ["reference", "keep_eos"])
def test_packed_rows_train_the_same_context_target_pairs_as_padded_batches(mode, truncation, tokenized):
    dataset = tokenized
    limit = 48
    collator = Collator(mask=mode, allowed_max_length=limit, truncation=truncation, response_mask=True)
    sampler = PackedBatchSampler(dataset.lengths, limit, 4, seed=0)
    packed = [PackedCollator(collator, limit)(dataset.batch(batch)) for batch in sampler]
    padded = [collator(dataset.batch(np.arange(first, min(first + 7, len(dataset)))))
              for first in range(0, len(dataset), 7)]

    def begin(batch):
        return (batch.position_ids.new_tensor(range(batch.inputs.shape[1])) - batch.position_ids).tolist()

    found = sum((trained_pairs(b.inputs, b.targets, begin(b)) for b in packed), Counter())
    expected = sum((trained_pairs(b.inputs, b.targets, [[0] * b.inputs.shape[1]] * len(b.inputs)) for b in padded),
                   Counter())
    assert found == expected and sum(found.values()) > 0
    assert sum(int(b.response_mask.sum()) for b in packed) == sum(int(b.response_mask.sum()) for b in padded)


@pytest.fixture(scope="module")
def tokenized():
    """Chat records of one and two turns and Alpaca-like records, so every mask mode trains something else."""
    from promptstyles import InstructionRecord
    from promptstyles.data.build.tokenize import tokenize_records
    from promptstyles.data.tokenizers import get_tokenizer
    from promptstyles.records import Conversation, Message
    from promptstyles.styles.registry import default_registry

    records = [InstructionRecord(f"Say {word}" * (1 + i % 9), "", f"{word} " * (1 + i % 5)) for i, word in
               enumerate(["yes", "no", "maybe", "twice", "again", "never"] * 3)]
    chats = [Conversation((Message("user", f"hi {i}"), Message("assistant", "hello " * i), Message("user", "more"),
                         Message("assistant", "done" * (i % 3 + 1)))) for i in range(6)]
    style = default_registry().get("chatml")
    return tokenize_records([*records, *chats], style, get_tokenizer("gpt2"))


def packed_config(path, **changes):
    collate = {"allowed_max_length": 1024, "packing": True, **changes.pop("collate", {})}
    return {"data": {"path": str(path)}, "collate": collate, "loader": {"batch_size": 8, "drop_last": False, **changes}}


def test_packed_rows_of_the_shared_dataset_are_at_least_98_percent_real_tokens(dataset_path):
    loaders = build_dataloaders(packed_config(dataset_path))
    shapes = loaders.batch_shapes("train")
    batches = list(loaders.train)  # the epoch batch_shapes looked ahead at
    assert [(len(b.inputs), b.inputs.shape[1]) for b in batches] == [shape[:2] for shape in shapes]
    real = sum(int((b.inputs != E).sum()) for b in batches)  # gpt2 text never holds the end-of-text id
    assert sum(shape[0] for shape in shapes) == 52  # 52,760 tokens need 52 rows of 1024
    assert sum(shape[2] for shape in shapes) == real == int(loaders.datasets["train"].lengths.sum()) == 52760
    lengths = loaders.datasets["train"].lengths
    assert len(best_fit_rows(lengths, 1024)[1]) - 1 == 53  # best fit alone: 97.2% real tokens
    share = padding_share(shapes)
    assert share == pytest.approx(1 - 52760 / (52 * 1024)) and share <= 0.02  # 99.1% real tokens


def test_stats_reports_packed_padding(dataset_path, tmp_path, capsys):
    config = tmp_path / "packed.yaml"
    config.write_text(f"data: {{path: {dataset_path}}}\ncollate: {{allowed_max_length: 1024, packing: true}}\n"
                      "loader: {drop_last: false}\n", encoding="utf-8")
    assert main(["stats", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[-1] for line in lines[2:5]] == ["0.9%", "23.9%", "14.2%"]


def test_an_over_long_example_takes_a_whole_row():
    sampler = PackedBatchSampler(np.array([9, 1, 4]), 5, 1)
    assert epoch(sampler) == [[[0, 0]], [[0, 2], [0, 1]]]


def test_over_long_examples_are_cut_or_dropped(dataset_path):
    for drop, count in ((False, 935), (True, 689)):
        loaders = build_dataloaders(packed_config(dataset_path, collate={"allowed_max_length": 60,
                                                                         "drop_overlong": drop}))
        lengths = loaders.datasets["train"].lengths
        assert len(lengths) == count and (lengths.max() <= 60) == drop
        indices = loaders.batch_indices("train")
        assert sorted(i for batch in indices for i in batch[:, 1].tolist()) == list(range(count))
        for batch, pairs_ in zip(loaders.train, indices, strict=True):
            segments = Counter(np.diff(batch.cu_seqlens.numpy()).tolist())
            kept = Counter(np.minimum(lengths[pairs_[:, 1]], 60).tolist())  # a longer example takes 60 places
            tails = segments - kept
            assert not kept - segments and sum(tails.elements()) == batch.inputs.numel() - sum(kept.elements())
            assert sum(tails.values()) <= len(batch.inputs)


def test_evaluation_scores_every_target_once(dataset_path):
    packed = build_dataloaders(packed_config(dataset_path, collate={"mask": "instruction"}))
    padded = build_dataloaders({**packed_config(dataset_path, collate={"mask": "instruction"}),
                                "collate": {"mask": "instruction", "allowed_max_length": 1024}})
    for split in ("val", "test"):
        counts = [sum(int((b.targets != X).sum()) for b in loaders[split]) for loaders in (packed, padded)]
        assert counts[0] == counts[1] > 0


def test_packing_needs_a_row_length(tmp_path):
    with pytest.raises(ConfigError, match=r"collate\.packing.*needs collate\.allowed_max_length"):
        build_dataloaders({"collate": {"packing": True}})
    with pytest.raises(ConfigError, match=r"collate\.packing.*expected true or false"):
        build_dataloaders({"collate": {"packing": "yes", "allowed_max_length": 8}})
    with pytest.raises(DataError, match="row length 16 exceeds the collator's allowed_max_length 8"):
        PackedCollator(Collator(allowed_max_length=8), 16)
    with pytest.raises(DataError, match=r"\(row, example\) index pairs"):
        PackedCollator(Collator(), 16)(_dataset([SHORT]).batch([0]))


def test_the_readme_packing_block_gives_packed_rows(dataset_path):
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = text.split("### Grouping or packing", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    config = {**yaml.safe_load(block), "data": {"path": str(dataset_path)}}
    batch = next(iter(build_dataloaders(config).train))
    assert batch.inputs.shape == (8, 1024) and batch.cu_seqlens is not None


def test_batch_command_shows_packed_rows_with_their_examples_at_their_positions(tmp_path, capsys):
    words = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    records = [{"instruction": f"Say {word}.", "input": "", "output": word.title()} for word in words]
    (tmp_path / "data.json").write_text(json.dumps(records), encoding="utf-8")
    (tmp_path / "c.yaml").write_text(
        "data: {path: data.json, cache: false, split: {train: 1.0, test: 0.0}}\n"
        "collate: {allowed_max_length: 128, packing: true, mask: prompt}\nloader: {batch_size: 2, shuffle: false}\n",
        encoding="utf-8")
    gpt2 = load_encoding("gpt2")
    assert {len(gpt2.encode(get_style("alpaca").render(record).text)) for record in records} == {34}
    assert main(["batch", str(tmp_path / "c.yaml"), "--color", "never"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("===", "---", "train"))]
    assert lines == [
        "train batch 0: inputs (2, 128), style 'alpaca', mask 'prompt'",
        "=== row 0: 3 examples, 102 of 128 positions, 26 padding",
        "--- positions 0-33 (record 7): 34 tokens, 2 trained targets",
        "--- positions 34-67 (record 4): 34 tokens, 2 trained targets",
        "--- positions 68-101 (record 0): 34 tokens, 2 trained targets",
        "=== row 1: 3 examples, 102 of 128 positions, 26 padding",
        "--- positions 0-33 (record 2): 34 tokens, 2 trained targets",
        "--- positions 34-67 (record 1): 34 tokens, 2 trained targets",
        "--- positions 68-101 (record 5): 34 tokens, 2 trained targets",
    ]
