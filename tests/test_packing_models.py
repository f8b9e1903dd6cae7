"""Packed batches through the models: the loss and every gradient equal those of the same examples padded,
for our GPT and for a tiny random Llama (SDPA and eager attention)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from promptstyles.data.batches.collate import Collator
from promptstyles.data.batches.packed import PackedCollator
from promptstyles.data.batches.packing import PackedBatchSampler
from promptstyles.data.masks import KIND_CODES
from promptstyles.data.tokenized import TokenizedDataset
from promptstyles.experiments.model import GPT, GPTConfig
from promptstyles.experiments.train import logits_of
from promptstyles.styles._base import PartKind

VOCAB, EOS, ROW = 61, 60, 24


def examples(count: int = 9, seed: int = 0) -> TokenizedDataset:
    """Random examples of 2 to 16 tokens: a prompt, a response header and a response, each followed by EOS."""
    rng = np.random.default_rng(seed)
    tokens, starts, lengths, run_ends, run_kinds = [], [], [], [], []
    for _ in range(count):
        length = int(rng.integers(3, 17))
        starts.append(len(tokens))
        lengths.append(length)
        tokens += [*rng.integers(0, EOS, length).tolist(), EOS]
        header = int(rng.integers(1, length - 1))
        run_ends += [header, header + 1, length]
        run_kinds += [KIND_CODES[PartKind.PROMPT], KIND_CODES[PartKind.RESPONSE_HEADER], KIND_CODES[PartKind.RESPONSE]]
    return TokenizedDataset(
        np.array(tokens, dtype=np.uint16), np.array(starts), np.array(lengths), np.array(run_ends, dtype=np.uint16),
        np.array(run_kinds, dtype=np.uint8), np.arange(0, 3 * count + 1, 3), eos_id=EOS, vocab_size=VOCAB,
    )


def loss_and_grads(model: torch.nn.Module, batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The summed cross-entropy over the batch's trained targets, and the gradient of every parameter."""
    model.zero_grad()
    logits = logits_of(model, batch.inputs, batch)
    loss = F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten(), ignore_index=-100, reduction="sum")
    loss.backward()
    return loss.detach(), {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


def assert_packed_equals_padded(model: torch.nn.Module, tolerance: float = 1e-10) -> None:
    dataset = examples()
    collator = Collator(pad_token_id=EOS, mask="instruction", allowed_max_length=ROW, attention_mask=True)
    sampler = PackedBatchSampler(dataset.lengths, ROW, batch_size=8, seed=1)
    [pairs] = list(sampler)
    packed = PackedCollator(collator, ROW)(dataset.batch(pairs))
    assert len(packed.inputs) < len(dataset) and (packed.position_ids == 0).sum() > len(packed.inputs)
    padded = collator(dataset.batch(np.arange(len(dataset))))
    assert int((packed.targets != -100).sum()) == int((padded.targets != -100).sum())
    loss, grads = loss_and_grads(model, packed)
    expected_loss, expected_grads = loss_and_grads(model, padded)
    torch.testing.assert_close(loss, expected_loss, rtol=tolerance, atol=tolerance)
    assert grads.keys() == expected_grads.keys() and len(grads) > 4
    for name, grad in grads.items():
        torch.testing.assert_close(grad, expected_grads[name], rtol=tolerance, atol=tolerance, msg=name)


def test_gpt_packed_loss_and_gradients_equal_padded():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=VOCAB, context_length=ROW, emb_dim=16, n_heads=2, n_layers=2)).double()
    assert_packed_equals_padded(model)


@pytest.mark.parametrize(("attention", "tolerance"), [("sdpa", 1e-10), ("eager", 1e-5)])
def test_tiny_llama_packed_loss_and_gradients_equal_padded(attention, tolerance):
    """Eager attention takes its softmax in float32 even for a float64 model, hence its looser tolerance."""
    transformers = pytest.importorskip("transformers")
    from promptstyles.experiments.hf_model import HFCausalLM

    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=VOCAB, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=ROW,
                                      attn_implementation=attention)
    model = HFCausalLM(transformers.LlamaForCausalLM(config)).double()
    assert_packed_equals_padded(model, tolerance)
