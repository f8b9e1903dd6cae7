"""Pair parity with TRL's DPO preprocessing (the reference) on the shared Qwen2.5 tokenizer and template.

TRL renders a conversational pair's prompt with ``apply_chat_template(add_generation_prompt=True)`` and each
completion as the rest of the whole conversation's template ids; its collator pads chosen and rejected rows
together. A pair dataset's items are TRL's tokenized rows exactly; a batch's rows are those ids plus the one
end-of-text our collator appends to every example (Qwen2.5's template ends a turn with ``<|im_end|>\\n`` and no
end-of-text of its own), which is trained.
"""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch
from engine_styles import MODELS

from promptstyles import get_style
from promptstyles.data.batches.pairs import PairCollator
from promptstyles.data.build.pairs import tokenize_pairs
from promptstyles.data.tokenizers.hf.tokenizer import HFTokenizer

transformers = pytest.importorskip("transformers")
datasets = pytest.importorskip("datasets")
trl_dpo = pytest.importorskip("trl.trainer.dpo_trainer")
trl = pytest.importorskip("trl")

QWEN = MODELS / "qwen2.5-7b-instruct"


@pytest.fixture(scope="module")
def qwen():
    if not QWEN.is_dir():
        pytest.skip(f"tokenizer folder {QWEN} not found")
    return HFTokenizer(QWEN), transformers.AutoTokenizer.from_pretrained(str(QWEN))


def conversational_pairs(raw_records: list[dict], count: int) -> list[dict]:
    """TRL's explicit-prompt conversational shape from the shared data, plus system and multi-turn prompts."""
    pairs = []
    for index, record in enumerate(raw_records[:count]):
        user = record["instruction"] + ("\n" + record["input"] if record["input"] else "")
        pairs.append({"prompt": [{"role": "user", "content": user}],
                      "chosen": [{"role": "assistant", "content": record["output"]}],
                      "rejected": [{"role": "assistant", "content": raw_records[index + 1]["output"]}]})
    pairs.append({"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Sky?"}],
                  "chosen": [{"role": "assistant", "content": "Blue."}],
                  "rejected": [{"role": "assistant", "content": " 日本語 ✓ 🙂\t"}]})
    pairs.append({"prompt": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                             {"role": "user", "content": "c"}],
                  "chosen": [{"role": "assistant", "content": "d"}],
                  "rejected": [{"role": "assistant", "content": "e"}]})
    return pairs


def trl_rows(pairs: list[dict], reference, max_length: int | None = None) -> list[dict]:
    """TRL's own preprocessing of the pairs (``DPOTrainer._prepare_dataset``), no model needed."""
    args = trl.DPOConfig(output_dir="unused", report_to=[], max_length=max_length, bf16=False, use_cpu=True)
    trainer = types.SimpleNamespace(_tokenizer=reference)
    prepared = trl_dpo.DPOTrainer._prepare_dataset(trainer, datasets.Dataset.from_list(pairs), reference, args,
                                                   "train")
    return [{key: prepared[index][key] for key in ("prompt_ids", "chosen_ids", "rejected_ids")}
            for index in range(len(prepared))]


def test_pair_ids_equal_trls_dpo_preprocessing(qwen, raw_records):
    tokenizer, reference = qwen
    pairs = conversational_pairs(raw_records, 48)
    ours = tokenize_pairs(pairs, get_style("qwen2.5"), tokenizer)
    expected = trl_rows(pairs, reference)
    assert tokenizer.eos_id == reference.eos_token_id == 151645
    mismatched = [index for index, row in enumerate(expected) if ours[index] != row]
    assert len(expected) == 50
    assert mismatched == []


@pytest.mark.parametrize("limit", [None, 44])
def test_pair_batches_equal_trls_collator(qwen, raw_records, limit):
    tokenizer, reference = qwen
    pairs = conversational_pairs(raw_records, 24)
    ours, dropped = tokenize_pairs(pairs, get_style("qwen2.5"), tokenizer).fit(limit, drop_overlong=True)
    expected = trl_rows(pairs, reference, max_length=limit)  # TRL drops the pairs whose prompt fills the limit
    assert len(ours) == len(expected) == 26 - dropped
    if limit is not None:
        assert dropped > 0
    eos, pad = tokenizer.eos_id, reference.pad_token_id
    collate = trl_dpo.DataCollatorForPreference(pad_token_id=pad, max_length=limit)
    ours_collate = PairCollator(pad_token_id=pad, allowed_max_length=limit)
    for first in range(0, len(ours), 8):
        indices = np.arange(first, min(first + 8, len(ours)))
        theirs = collate([{"prompt_ids": expected[i]["prompt_ids"], "chosen_ids": [*expected[i]["chosen_ids"], eos],
                           "rejected_ids": [*expected[i]["rejected_ids"], eos]} for i in indices])
        batch = ours_collate(ours.batch(indices))
        ids = torch.cat([batch["chosen_input_ids"], batch["rejected_input_ids"]])
        assert torch.equal(ids, theirs["input_ids"])
        assert torch.equal(torch.cat([batch["chosen_attention_mask"], batch["rejected_attention_mask"]]),
                           theirs["attention_mask"])
        labels = torch.cat([batch["chosen_labels"], batch["rejected_labels"]])
        assert torch.equal((labels != -100).long(), theirs["completion_mask"])
        assert torch.equal(labels[labels != -100], ids[labels != -100])
