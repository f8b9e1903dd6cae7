"""Loading GPT-2 safetensors files (synthetic, tiny, in the published key layout) and torch state dicts."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch.nn import functional as F

from promptstyles.errors import ModelError
from promptstyles.experiments.checkpoints import (
    gpt2_state_dict,
    load_gpt2_safetensors,
    load_state_dict_file,
    save_state_dict_file,
)
from promptstyles.experiments.model import GPT, GPTConfig

CONFIG = GPTConfig(vocab_size=11, context_length=6, emb_dim=8, n_heads=2, n_layers=1, qkv_bias=True)


def published_tensors(config: GPTConfig = CONFIG, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors with the names and (Conv1D) shapes of a Hugging Face GPT-2 checkpoint."""
    generator = torch.Generator().manual_seed(seed)
    emb = config.emb_dim

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=generator) * 0.3

    tensors = {"wte.weight": rand(config.vocab_size, emb), "wpe.weight": rand(config.context_length, emb)}
    for i in range(config.n_layers):
        tensors |= {
            f"h.{i}.ln_1.weight": 1 + rand(emb), f"h.{i}.ln_1.bias": rand(emb),
            f"h.{i}.attn.c_attn.weight": rand(emb, 3 * emb), f"h.{i}.attn.c_attn.bias": rand(3 * emb),
            f"h.{i}.attn.c_proj.weight": rand(emb, emb), f"h.{i}.attn.c_proj.bias": rand(emb),
            f"h.{i}.ln_2.weight": 1 + rand(emb), f"h.{i}.ln_2.bias": rand(emb),
            f"h.{i}.mlp.c_fc.weight": rand(emb, 4 * emb), f"h.{i}.mlp.c_fc.bias": rand(4 * emb),
            f"h.{i}.mlp.c_proj.weight": rand(4 * emb, emb), f"h.{i}.mlp.c_proj.bias": rand(emb),
        }
    return tensors | {"ln_f.weight": 1 + rand(emb), "ln_f.bias": rand(emb)}


def reference_forward(t: dict[str, torch.Tensor], ids: torch.Tensor, n_heads: int) -> torch.Tensor:
    """GPT-2 written out from the published tensors (Conv1D: ``x @ W + b``), one layer, no shortcuts."""
    length, emb = ids.shape[0], t["wte.weight"].shape[1]
    head_dim = emb // n_heads

    def norm(x: torch.Tensor, name: str) -> torch.Tensor:
        mean, var = x.mean(-1, keepdim=True), x.var(-1, unbiased=False, keepdim=True)
        return (x - mean) / torch.sqrt(var + 1e-5) * t[f"{name}.weight"] + t[f"{name}.bias"]

    x = t["wte.weight"][ids] + t["wpe.weight"][:length]
    h = norm(x, "h.0.ln_1")
    q, k, v = (h @ t["h.0.attn.c_attn.weight"] + t["h.0.attn.c_attn.bias"]).split(emb, dim=-1)
    heads = []
    for n in range(n_heads):
        cols = slice(n * head_dim, (n + 1) * head_dim)
        scores = q[:, cols] @ k[:, cols].T / math.sqrt(head_dim)
        scores = scores.masked_fill(torch.triu(torch.ones(length, length, dtype=torch.bool), 1), float("-inf"))
        heads.append(torch.softmax(scores, dim=-1) @ v[:, cols])
    x = x + torch.cat(heads, dim=-1) @ t["h.0.attn.c_proj.weight"] + t["h.0.attn.c_proj.bias"]
    h = norm(x, "h.0.ln_2")
    h = F.gelu(h @ t["h.0.mlp.c_fc.weight"] + t["h.0.mlp.c_fc.bias"], approximate="tanh")
    x = x + h @ t["h.0.mlp.c_proj.weight"] + t["h.0.mlp.c_proj.bias"]
    return norm(x, "ln_f") @ t["wte.weight"].T


def write(tmp_path: Path, tensors: dict[str, torch.Tensor]) -> Path:
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))
    return path


def test_loaded_model_matches_a_forward_written_from_the_published_tensors(tmp_path: Path) -> None:
    tensors = published_tensors()
    model = load_gpt2_safetensors(write(tmp_path, tensors), CONFIG).eval()
    ids = torch.tensor([3, 0, 10, 7, 7])
    expected = reference_forward(tensors, ids, CONFIG.n_heads)
    assert torch.allclose(model(ids[None])[0], expected, atol=1e-5)
    assert model.head.weight is model.tok_emb.weight
    assert torch.equal(model.blocks[0].attn.qkv.weight, tensors["h.0.attn.c_attn.weight"].T)


def test_every_published_key_is_consumed_and_every_model_tensor_filled() -> None:
    tensors = published_tensors()
    state = gpt2_state_dict(tensors, CONFIG)
    assert len(state) == len(tensors) == 16
    assert set(state) == set(GPT(CONFIG).state_dict()) - {"head.weight"}


def test_transformer_prefix_mask_buffers_and_untied_head(tmp_path: Path) -> None:
    tensors = {f"transformer.{k}": v for k, v in published_tensors().items()}
    tensors["transformer.h.0.attn.bias"] = torch.tril(torch.ones(1, 1, 6, 6))
    untied = GPTConfig(**{**CONFIG.__dict__, "tie_embeddings": False})
    model = load_gpt2_safetensors(write(tmp_path, tensors), untied)
    assert torch.equal(model.head.weight, tensors["transformer.wte.weight"])
    assert model.head.weight is not model.tok_emb.weight


@pytest.mark.parametrize("key", sorted(published_tensors()))
def test_a_missing_tensor_is_named(tmp_path: Path, key: str) -> None:
    tensors = published_tensors()
    shape = list(tensors.pop(key).shape)
    with pytest.raises(ModelError, match=rf"missing tensor '{key}' \(expected shape {shape}\)".replace("[", r"\[")):
        load_gpt2_safetensors(write(tmp_path, tensors), CONFIG)


def test_a_misshapen_tensor_is_named_with_both_shapes(tmp_path: Path) -> None:
    tensors = published_tensors()
    tensors["h.0.attn.c_attn.weight"] = tensors["h.0.attn.c_attn.weight"].T.contiguous()
    message = r"tensor 'h\.0\.attn\.c_attn\.weight' has shape \[24, 8\], expected \[8, 24\]"
    with pytest.raises(ModelError, match=message):
        load_gpt2_safetensors(write(tmp_path, tensors), CONFIG)


def test_an_unknown_tensor_is_rejected(tmp_path: Path) -> None:
    tensors = published_tensors() | {"h.1.ln_1.weight": torch.ones(8)}
    with pytest.raises(ModelError, match=r"unexpected tensors not in the GPT-2 layout: 'h\.1\.ln_1\.weight' \[8\]"):
        load_gpt2_safetensors(write(tmp_path, tensors), CONFIG)


def test_a_different_lm_head_cannot_be_tied() -> None:
    tensors = published_tensors() | {"lm_head.weight": torch.zeros(11, 8)}
    with pytest.raises(ModelError, match="'lm_head.weight' differs from 'wte.weight'"):
        gpt2_state_dict(tensors, CONFIG)


def test_not_a_safetensors_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="not a readable safetensors file"):
        load_gpt2_safetensors(path, CONFIG)
    with pytest.raises(ModelError, match="checkpoint file not found"):
        load_gpt2_safetensors(tmp_path / "absent.safetensors", CONFIG)


def test_torch_state_dict_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = GPT(CONFIG).eval()
    path = save_state_dict_file(model, tmp_path / "ckpt" / "model.pt")
    loaded = load_state_dict_file(path, CONFIG).eval()
    ids = torch.tensor([[1, 2, 3]])
    assert torch.equal(loaded(ids), model(ids))


def test_torch_state_dict_shape_and_key_errors(tmp_path: Path) -> None:
    state = GPT(CONFIG).state_dict()
    state["pos_emb.weight"] = torch.zeros(4, 8)
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(ModelError, match=r"tensor 'pos_emb\.weight' has shape \[4, 8\], expected \[6, 8\]"):
        load_state_dict_file(tmp_path / "bad.pt", CONFIG)
    del state["pos_emb.weight"]
    torch.save(state, tmp_path / "missing.pt")
    with pytest.raises(ModelError, match=r"missing tensor 'pos_emb\.weight' \(expected shape \[6, 8\]\)"):
        load_state_dict_file(tmp_path / "missing.pt", CONFIG)
    torch.save({"config": "not tensors"}, tmp_path / "other.pt")
    with pytest.raises(ModelError, match="expected a state dict"):
        load_state_dict_file(tmp_path / "other.pt", CONFIG)
