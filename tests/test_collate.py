"""The collator: literal tensors for every option, and properties over random batches."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_collate import reference_collate

from promptstyles import DataError, InstructionRecord
from promptstyles.data.batches import collate as collate_module
from promptstyles.data.batches.collate import Batch, Collator
from promptstyles.data.build.tokenize import tokenize_records
from promptstyles.data.masks import KIND_CODES
from promptstyles.data.modes import MASK_MODES
from promptstyles.data.tokenized import TokenizedDataset
from promptstyles.data.tokenizers import get_tokenizer
from promptstyles.styles._base import PartKind

E = 50256
X = -100


def tensor(rows):
    return torch.tensor(rows, dtype=torch.int64)


def test_reference_semantics_on_token_lists():
    batch = Collator()([[1, 2, 3], [4, 5]])
    assert torch.equal(batch.inputs, tensor([[1, 2, 3], [4, 5, E]]))
    assert torch.equal(batch.targets, tensor([[2, 3, E], [5, E, X]]))
    inputs, targets = batch
    assert torch.equal(inputs, batch.inputs) and torch.equal(targets, batch.targets)
    expected = reference_collate([[1, 2, 3], [4, 5], [6]])
    assert all(torch.equal(a, b) for a, b in zip(Collator()([[1, 2, 3], [4, 5], [6]]), expected, strict=True))


def test_reference_truncation_cuts_after_masking():
    inputs, targets = Collator(allowed_max_length=2)([[1, 2, 3], [4, 5]])
    assert torch.equal(inputs, tensor([[1, 2], [4, 5]]))
    assert torch.equal(targets, tensor([[2, 3], [5, E]]))


def test_keep_eos_truncation_keeps_the_end_of_text_target():
    inputs, targets = Collator(allowed_max_length=2, truncation="keep_eos")([[1, 2, 3], [4], [5, 6]])
    assert torch.equal(inputs, tensor([[1, 2], [4, E], [5, 6]]))
    assert torch.equal(targets, tensor([[2, E], [E, X], [6, E]]))


def test_pad_to_multiple_and_attention_mask():
    batch = Collator(pad_to_multiple_of=4, attention_mask=True)([[1, 2, 3], [4, 5]])
    assert torch.equal(batch.inputs, tensor([[1, 2, 3, E], [4, 5, E, E]]))
    assert torch.equal(batch.targets, tensor([[2, 3, E, X], [5, E, X, X]]))
    assert torch.equal(batch.attention_mask, tensor([[1, 1, 1, 1], [1, 1, 1, 0]]))


def test_separate_pad_id_pads_after_the_end_of_text():
    inputs, targets = Collator(pad_token_id=0, eos_token_id=E, ignore_index=-1)([[1, 2, 3, 4], [5]])
    assert torch.equal(inputs, tensor([[1, 2, 3, 4], [5, E, 0, 0]]))
    assert torch.equal(targets, tensor([[2, 3, 4, E], [E, -1, -1, -1]]))


def test_empty_batch_and_masks_without_boundaries_are_errors():
    with pytest.raises(DataError, match="empty batch"):
        Collator()([])
    with pytest.raises(DataError, match="mask 'prompt' needs the part boundaries"):
        Collator(mask="prompt")([[1, 2]])
    with pytest.raises(DataError, match="unknown mask mode 'all'"):
        Collator(mask="all")


def _dataset(examples):
    """A dataset from (tokens, [(kind, run_end), ...]) pairs, built the way the tokenizer path stores them."""
    tokens, starts, lengths, run_ends, run_kinds, run_offsets = [], [], [], [], [], [0]
    for ids, runs in examples:
        starts.append(len(tokens))
        lengths.append(len(ids))
        tokens += [*ids, E]
        for kind, end in runs:
            run_kinds.append(KIND_CODES[kind])
            run_ends.append(end)
        run_offsets.append(len(run_kinds))
    return TokenizedDataset(
        np.array(tokens, dtype=np.uint16), np.array(starts, dtype=np.int64), np.array(lengths, dtype=np.int32),
        np.array(run_ends, dtype=np.uint16), np.array(run_kinds, dtype=np.uint8), np.array(run_offsets),
        eos_id=E, vocab_size=50257,
    )


S, P, H, R, N = PartKind.SYSTEM, PartKind.PROMPT, PartKind.RESPONSE_HEADER, PartKind.RESPONSE, PartKind.END

# tokens 10-11 system, 12-13 prompt, 14 header, 15-16 response, 17 end, 18 prompt, 19 header, 20 response, 21 end
TWO_TURNS = ([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21],
             [(S, 2), (P, 4), (H, 5), (R, 7), (N, 8), (P, 9), (H, 10), (R, 11), (N, 12)])
SHORT = ([30, 31, 32, 33], [(P, 2), (H, 3), (R, 4)])


@pytest.mark.parametrize(("mode", "expected"), [
    ("none", [[11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, E], [31, 32, 33, E, X, X, X, X, X, X, X, X]]),
    ("instruction", [[X, X, X, X, X, X, X, X, 19, 20, 21, E], [X, 32, 33, E, X, X, X, X, X, X, X, X]]),
    ("prompt", [[X, X, X, X, X, X, X, X, X, 20, 21, E], [X, X, 33, E, X, X, X, X, X, X, X, X]]),
    ("assistant", [[X, X, X, X, 15, 16, 17, X, X, 20, 21, E], [X, X, 33, E, X, X, X, X, X, X, X, X]]),
    ("last_assistant", [[X, X, X, X, X, X, X, X, X, 20, 21, E], [X, X, 33, E, X, X, X, X, X, X, X, X]]),
])
def test_mask_modes_follow_part_boundaries(mode, expected):
    dataset = _dataset([TWO_TURNS, SHORT])
    batch = Collator(mask=mode, response_mask=True)(dataset.batch([0, 1]))
    assert torch.equal(batch.targets, tensor(expected))
    assert torch.equal(batch.inputs[1], tensor([30, 31, 32, 33, E, E, E, E, E, E, E, E]))
    scored = [[False] * 12, [False] * 12]
    scored[0][9] = True  # target 9 predicts token 20, the final response's text
    scored[1][2] = True
    assert torch.equal(batch.response_mask, torch.tensor(scored))


def test_collator_and_batch_pickle_and_move():
    collator = pickle.loads(pickle.dumps(Collator(mask="prompt", allowed_max_length=8, device="cpu")))
    dataset = _dataset([SHORT])
    batch = pickle.loads(pickle.dumps(collator(dataset.batch([0]))))
    assert torch.equal(batch.targets, tensor([[X, X, 33, E]]))
    assert batch.to("cpu").inputs.device.type == "cpu"
    assert isinstance(batch, Batch) and len(batch) == 2


def test_dataset_batches_through_a_plain_dataloader():
    dataset = _dataset([SHORT, TWO_TURNS, SHORT])
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, collate_fn=Collator(mask="prompt"))
    shapes = [tuple(batch.inputs.shape) for batch in loader]
    assert shapes == [(2, 12), (1, 4)]


# -- properties ------------------------------------------------------------------------------------------


def reference_trained(runs, length, mode):
    """Trained token positions, computed run by run in plain Python."""
    starts = [0] + [end for _, end in runs[:-1]]
    headers = [i for i, (kind, _) in enumerate(runs) if kind is H]
    last = headers[-1]
    trained = set()
    for i, ((kind, end), start) in enumerate(zip(runs, starts, strict=True)):
        take = {
            "none": True,
            "instruction": i >= last,
            "prompt": i >= last and kind in (R, N),
            "last_assistant": i >= last and kind in (R, N),
            "assistant": kind in (R, N),
        }[mode]
        if take:
            trained.update(range(start, end))
    return trained


@st.composite
def examples(draw):
    count = draw(st.integers(1, 6))
    out = []
    for _ in range(count):
        turns = draw(st.integers(1, 3))
        runs, position = [], 0
        for kind in [S] * draw(st.integers(0, 1)) + [P, H, R, N] * turns:
            position += draw(st.integers(0 if kind is not P else 1, 4))
            runs.append((kind, position))
        if draw(st.booleans()):
            runs = runs[:-1]  # some styles have no end marker
        length = runs[-1][1]
        ids = draw(st.lists(st.integers(0, 50000), min_size=length, max_size=length))
        out.append((ids, runs))
    return out


@settings(max_examples=200, deadline=None)
@given(examples(), st.sampled_from(MASK_MODES), st.one_of(st.none(), st.integers(1, 40)),
       st.sampled_from(["reference", "keep_eos"]), st.one_of(st.none(), st.integers(1, 8)), st.booleans())
def test_collate_invariants(data, mode, limit, truncation, multiple, copy_rows):
    data = [(ids, runs) for ids, runs in data if ids]
    if not data:
        return
    dataset = _dataset(data)
    collator = Collator(mask=mode, allowed_max_length=limit, truncation=truncation, pad_to_multiple_of=multiple)
    saved = collate_module._ROW_COPY_WIDTH
    collate_module._ROW_COPY_WIDTH = 1 if copy_rows else 1 << 30  # both ways of building rows
    try:
        inputs, targets = collator(dataset.batch(np.arange(len(data))))
    finally:
        collate_module._ROW_COPY_WIDTH = saved
    longest = max(len(ids) for ids, _ in data)
    width = longest if not multiple else -(-longest // multiple) * multiple
    if limit is not None:
        width = min(width, limit)
    assert inputs.shape == targets.shape == (len(data), width)
    for row, (ids, runs) in enumerate(data):
        length = len(ids) if truncation == "reference" or limit is None else min(len(ids), limit)
        full = [*ids[:length], E] + [E] * (width + 1)
        assert inputs[row].tolist() == full[:width]
        kept = targets[row].tolist()
        trained = reference_trained(runs, len(ids), mode)
        for j in range(width):
            if j >= length:
                assert kept[j] == X  # padding after the end-of-text target
            elif j == length - 1:
                assert kept[j] == E  # exactly one end-of-text target, always trained
            else:
                assert kept[j] == (ids[j + 1] if j + 1 in trained else X)  # shift and mask
        if length <= width:
            assert kept.count(E) == 1


def test_collate_on_real_tokens_matches_list_path():
    tokenizer = get_tokenizer("gpt2")
    from promptstyles import get_style

    records = [InstructionRecord(f"Task {i}", "in" * i, "out " * (i + 1)) for i in range(5)]
    dataset = tokenize_records(records, get_style("alpaca"), tokenizer)
    fast = Collator(allowed_max_length=30)(dataset.batch([4, 0, 2]))
    slow = Collator(allowed_max_length=30)([dataset[4].tolist(), dataset[0].tolist(), dataset[2].tolist()])
    assert torch.equal(fast.inputs, slow.inputs) and torch.equal(fast.targets, slow.targets)


def test_long_rows_equal_the_reference():
    rng = np.random.default_rng(5)
    batch = [rng.integers(0, 50000, int(n)).tolist() for n in rng.integers(100, 400, 16)]
    for limit in (None, 300):
        ours = Collator(allowed_max_length=limit)(batch)
        theirs = reference_collate(batch, allowed_max_length=limit)
        assert ours.inputs.shape[1] >= 128  # wide enough to take the row-copy path
        assert torch.equal(ours.inputs, theirs[0]) and torch.equal(ours.targets, theirs[1])


@pytest.mark.parametrize("mode", MASK_MODES)
def test_trained_target_counts_match_the_collated_targets(mode):
    dataset = _dataset([TWO_TURNS, SHORT, ([40, 41], [(H, 1), (R, 2)])])
    targets = Collator(mask=mode)(dataset.batch([0, 1, 2])).targets
    assert dataset.trained_targets(mode).tolist() == (targets != X).sum(dim=1).tolist()
