"""Alpaca with reference settings gives batches identical to the reference data path."""

from __future__ import annotations

import functools
import os

import pytest
import torch
from reference_collate import ReferenceDataset, reference_collate, reference_masked_collate

from promptstyles.data.tokenizers.gpt2_files import load_encoding
from promptstyles.pipeline import build_dataloaders


def reference_config(dataset_path, **collate):
    return {
        "style": "alpaca",
        "data": {"path": str(dataset_path)},
        "collate": {"allowed_max_length": 1024, **collate},
        "loader": {"batch_size": 8, "shuffle": False, "drop_last": False},
    }


def reference_loaders(raw_records, collate, *, masked=False, allowed_max_length=1024):
    tokenizer = load_encoding("gpt2")
    train_end, test_end = int(len(raw_records) * 0.85), int(len(raw_records) * 0.85) + int(len(raw_records) * 0.1)
    splits = {"train": raw_records[:train_end], "test": raw_records[train_end:test_end],
              "val": raw_records[test_end:]}
    collate_fn = functools.partial(collate, allowed_max_length=allowed_max_length)
    return {
        name: torch.utils.data.DataLoader(ReferenceDataset(data, tokenizer, with_instruction_lengths=masked),
                                          batch_size=8, shuffle=False, drop_last=False, collate_fn=collate_fn)
        for name, data in splits.items()
    }


def assert_same_batches(ours, theirs):
    count = 0
    for batch, (inputs, targets) in zip(ours, theirs, strict=True):
        assert torch.equal(batch.inputs, inputs)
        assert torch.equal(batch.targets, targets)
        assert batch.inputs.dtype == inputs.dtype == torch.int64
        count += 1
    return count


@pytest.mark.parametrize("allowed_max_length", [1024, 48])
def test_every_batch_equals_the_reference(dataset_path, raw_records, allowed_max_length):
    ours = build_dataloaders(reference_config(dataset_path, allowed_max_length=allowed_max_length))
    theirs = reference_loaders(raw_records, reference_collate, allowed_max_length=allowed_max_length)
    assert {name: len(ours[name].dataset) for name in theirs} == {"train": 935, "test": 110, "val": 55}
    counts = {name: assert_same_batches(ours[name], theirs[name]) for name in theirs}
    assert counts == {"train": 117, "test": 14, "val": 7}


@pytest.mark.parametrize("allowed_max_length", [1024, 48])
def test_instruction_mask_equals_the_reference_exercise(dataset_path, raw_records, allowed_max_length):
    ours = build_dataloaders(reference_config(dataset_path, mask="instruction", allowed_max_length=allowed_max_length))
    theirs = reference_loaders(raw_records, reference_masked_collate, masked=True,
                               allowed_max_length=allowed_max_length)
    for name in theirs:
        assert_same_batches(ours[name], theirs[name])


def _published_module():
    try:
        from llms_from_scratch import ch07
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("llms-from-scratch is not installed: pip install --no-deps -r requirements-reference.txt "
                    "(the README's install command)")
    return ch07


def test_every_batch_equals_the_published_reference(dataset_path, raw_records):
    ch07 = _published_module()
    tokenizer = load_encoding("gpt2")
    train_end, test_end = 935, 1045
    splits = {"train": raw_records[:train_end], "test": raw_records[train_end:test_end], "val": raw_records[test_end:]}
    collate_fn = functools.partial(ch07.custom_collate_fn, allowed_max_length=1024, device="cpu")
    ours = build_dataloaders(reference_config(dataset_path))
    for name, data in splits.items():
        theirs = torch.utils.data.DataLoader(ch07.InstructionDataset(data, tokenizer), batch_size=8,
                                             shuffle=False, drop_last=False, collate_fn=collate_fn)
        assert_same_batches(ours[name], theirs)
    assert ch07.format_input(raw_records[50]) + "\n\n### Response:\n" + raw_records[50]["output"] == (
        ours.style.render(ours.data.records[50]).text
    )
