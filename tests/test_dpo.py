"""DPO on pair batches: our loss and rewards equal TRL's DPO trainer's on the same batch and models."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from engine_styles import MODELS

from promptstyles import get_style
from promptstyles.data.batches.pairs import PairCollator
from promptstyles.data.build.pairs import tokenize_pairs
from promptstyles.experiments.dpo import _pair_logps, dpo_loss, evaluate_dpo, train_dpo
from promptstyles.experiments.hf_model import HFCausalLM
from promptstyles.experiments.train import TrainConfig
from promptstyles.integrations.transformers import trl_preference_inputs

transformers = pytest.importorskip("transformers")
QWEN = MODELS / "qwen2.5-7b-instruct"

PAIRS = [
    {"prompt": [{"role": "user", "content": "Sky?"}], "chosen": [{"role": "assistant", "content": "Blue, mostly."}],
     "rejected": [{"role": "assistant", "content": "Green."}]},
    {"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Two plus two?"}],
     "chosen": [{"role": "assistant", "content": "Four."}],
     "rejected": [{"role": "assistant", "content": "It is five, I think."}]},
]


@pytest.fixture(scope="module")
def qwen_pairs():
    if not QWEN.is_dir():
        pytest.skip(f"tokenizer folder {QWEN} not found")
    from promptstyles.data.tokenizers.hf.tokenizer import HFTokenizer

    reference = transformers.AutoTokenizer.from_pretrained(str(QWEN))
    pairs = tokenize_pairs(PAIRS, get_style("qwen2.5"), HFTokenizer(QWEN))
    batch = PairCollator(pad_token_id=reference.pad_token_id)(pairs.batch([0, 1]))
    return reference, pairs, batch


def tiny_llama(vocab_size: int, seed: int):
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(vocab_size=vocab_size, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256)
    return transformers.LlamaForCausalLM(config)


def test_a_policy_equal_to_its_reference_has_loss_log_2_and_no_margin(qwen_pairs):
    reference, _pairs, batch = qwen_pairs
    model = HFCausalLM(tiny_llama(len(reference), 0))
    result = evaluate_dpo(model, copy.deepcopy(model), [batch])
    assert result.loss == pytest.approx(math.log(2), abs=1e-6)
    assert (result.reward_margin, result.reward_accuracy, result.margins) == (0.0, 0.0, (0.0, 0.0))


def test_our_dpo_loss_equals_trls_on_the_same_batch(qwen_pairs, tmp_path):
    trl = pytest.importorskip("trl")
    datasets = pytest.importorskip("datasets")
    reference, _pairs, batch = qwen_pairs
    policy, frozen = tiny_llama(len(reference), 0), tiny_llama(len(reference), 1)
    args = trl.DPOConfig(output_dir=str(tmp_path), report_to=[], bf16=False, use_cpu=True, beta=0.1, max_length=None)
    trainer = trl.DPOTrainer(model=policy, ref_model=frozen, args=args, processing_class=reference,
                             train_dataset=datasets.Dataset.from_list(PAIRS))
    theirs = trainer.compute_loss(trainer.model, trl_preference_inputs(batch))
    ours, chosen, rejected = dpo_loss(_pair_logps(HFCausalLM(policy), batch), _pair_logps(HFCausalLM(frozen), batch),
                                      beta=0.1)
    assert float(ours) == pytest.approx(float(theirs), rel=1e-5)
    assert chosen.shape == rejected.shape == (2,)


def test_dpo_training_moves_the_margin_towards_the_chosen(qwen_pairs):
    reference, pairs, batch = qwen_pairs
    model = HFCausalLM(tiny_llama(len(reference), 0))
    start = copy.deepcopy(model)
    loader = torch.utils.data.DataLoader(pairs, batch_size=2, collate_fn=PairCollator(
        pad_token_id=reference.pad_token_id))
    losses = train_dpo(model, loader, TrainConfig(max_steps=8, epochs=8, learning_rate=1e-2))
    assert len(losses) == 8
    assert losses[0] == pytest.approx(math.log(2), abs=1e-6)
    after = evaluate_dpo(model, start, [batch])
    assert after.loss < losses[0]
    assert after.reward_accuracy == 1.0 and after.reward_margin > 0
