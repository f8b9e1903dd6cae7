"""The GPT: shapes, presets, causality, tied head, and resizing the vocabulary."""

from __future__ import annotations

import pytest
import torch

from promptstyles._schema import from_mapping
from promptstyles.errors import ConfigError, ModelError
from promptstyles.experiments.model import GPT, PRESETS, GPTConfig, resize_token_embeddings

SMALL = GPTConfig(vocab_size=13, context_length=8, emb_dim=8, n_heads=2, n_layers=2)


def test_gpt2_small_preset_has_the_published_parameter_count() -> None:
    config = PRESETS["gpt2-small"]
    assert (config.emb_dim, config.n_layers, config.n_heads, config.context_length) == (768, 12, 12, 1024)
    with torch.device("meta"):
        assert GPT(config).num_parameters() == 124_439_808


def test_preset_overrides_and_unknown_preset() -> None:
    assert GPTConfig.preset("tiny", context_length=64).context_length == 64
    with pytest.raises(ModelError, match="unknown model preset 'huge'"):
        GPTConfig.preset("huge")


def test_config_rejects_heads_that_do_not_divide_the_width_with_the_key_path() -> None:
    with pytest.raises(ConfigError, match=r"^model\.n_heads: must divide emb_dim \(8\), got 3$"):
        from_mapping(GPTConfig, {"emb_dim": 8, "n_heads": 3}, path=("model",))


def test_forward_shape_and_context_limit() -> None:
    torch.manual_seed(0)
    model = GPT(SMALL)
    assert model(torch.zeros((2, 5), dtype=torch.long)).shape == (2, 5, 13)
    with pytest.raises(ModelError, match="input of 9 tokens exceeds the model's context length 8"):
        model(torch.zeros((1, 9), dtype=torch.long))


def test_attention_is_causal() -> None:
    torch.manual_seed(0)
    model = GPT(SMALL).eval()
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    changed = torch.tensor([[1, 2, 3, 9, 9]])
    assert torch.allclose(model(ids)[:, :3], model(changed)[:, :3])
    assert not torch.allclose(model(ids)[:, 3:], model(changed)[:, 3:])


def test_next_token_logits_equal_the_last_position() -> None:
    torch.manual_seed(0)
    model = GPT(SMALL).eval()
    ids = torch.tensor([[4, 0, 7]])
    assert torch.allclose(model.next_token_logits(ids), model(ids)[:, -1])


def test_tied_and_untied_heads() -> None:
    tied = GPT(SMALL)
    assert tied.head.weight is tied.tok_emb.weight
    untied = GPT(GPTConfig(**{**SMALL.__dict__, "tie_embeddings": False}))
    assert untied.head.weight is not untied.tok_emb.weight
    assert untied.num_parameters() == tied.num_parameters() + 13 * 8


@pytest.mark.parametrize("tie", [True, False])
def test_resize_keeps_old_rows_and_starts_new_rows_at_the_mean(tie: bool) -> None:
    torch.manual_seed(0)
    model = GPT(GPTConfig(**{**SMALL.__dict__, "tie_embeddings": tie}))
    old_emb = model.tok_emb.weight.detach().clone()
    old_head = model.head.weight.detach().clone()
    resize_token_embeddings(model, 15)
    assert model.config.vocab_size == 15
    assert model.tok_emb.weight.shape == (15, 8) and model.head.weight.shape == (15, 8)
    assert torch.equal(model.tok_emb.weight[:13], old_emb)
    assert torch.allclose(model.tok_emb.weight[13], old_emb.mean(0))
    assert torch.allclose(model.head.weight[14], old_head.mean(0))
    assert (model.head.weight is model.tok_emb.weight) is tie
    assert model(torch.tensor([[14, 13]])).shape == (1, 2, 15)
    assert model.tok_emb.weight.requires_grad
