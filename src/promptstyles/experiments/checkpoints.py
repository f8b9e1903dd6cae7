"""Loading weights into :class:`GPT`: published GPT-2 safetensors files and this project's own state dicts.

Both paths end in one check that names every missing, unexpected or misshapen tensor, because a
checkpoint that silently half-loads trains a model that looks fine and is not. Files are read locally
only: ``safetensors`` never runs code, and ``torch.load`` is called with ``weights_only=True``.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import torch

from .._io import atomic_write_bytes
from ..errors import ModelError
from .model import GPT, GPTConfig

__all__ = ["gpt2_state_dict", "load_gpt2_safetensors", "load_state_dict_file", "save_state_dict_file"]

logger = logging.getLogger(__name__)

_PREFIX = "transformer."
# Buffers some GPT-2 exports carry (the causal mask); attention here is causal by construction.
_BUFFER_SUFFIXES = (".attn.bias", ".attn.masked_bias")


def _published_layout(config: GPTConfig) -> dict[str, tuple[str, tuple[int, ...], bool]]:
    """Published key -> (our key, published shape, transposed). Conv1D weights are (in, out)."""
    emb, vocab = config.emb_dim, config.vocab_size
    layout: dict[str, tuple[str, tuple[int, ...], bool]] = {
        "wte.weight": ("tok_emb.weight", (vocab, emb), False),
        "wpe.weight": ("pos_emb.weight", (config.context_length, emb), False),
        "ln_f.weight": ("ln_f.weight", (emb,), False),
        "ln_f.bias": ("ln_f.bias", (emb,), False),
    }
    linears = {
        "attn.c_attn": ("attn.qkv", emb, 3 * emb),
        "attn.c_proj": ("attn.proj", emb, emb),
        "mlp.c_fc": ("mlp.fc", emb, 4 * emb),
        "mlp.c_proj": ("mlp.proj", 4 * emb, emb),
    }
    for i in range(config.n_layers):
        for theirs, ours in (("ln_1", "ln1"), ("ln_2", "ln2")):
            layout[f"h.{i}.{theirs}.weight"] = (f"blocks.{i}.{ours}.weight", (emb,), False)
            layout[f"h.{i}.{theirs}.bias"] = (f"blocks.{i}.{ours}.bias", (emb,), False)
        for theirs, (ours, fan_in, fan_out) in linears.items():
            layout[f"h.{i}.{theirs}.weight"] = (f"blocks.{i}.{ours}.weight", (fan_in, fan_out), True)
            if theirs != "attn.c_attn" or config.qkv_bias:
                layout[f"h.{i}.{theirs}.bias"] = (f"blocks.{i}.{ours}.bias", (fan_out,), False)
    return layout


def gpt2_state_dict(tensors: Mapping[str, torch.Tensor], config: GPTConfig, *, source: str = "checkpoint") -> dict:
    """Translate tensors in the published GPT-2 key layout into a state dict of ``GPT(config)``.

    Every published key must map onto the model and every model tensor must be found; anything else
    raises :class:`ModelError` naming the key and both shapes. The head is tied to ``wte``: an untied
    model gets a copy, and an ``lm_head.weight`` in the file must equal ``wte`` for a tied model.
    """
    names = {key.removeprefix(_PREFIX): key for key in tensors}
    layout = _published_layout(config)
    state: dict[str, torch.Tensor] = {}
    for theirs, (ours, shape, transposed) in layout.items():
        if theirs not in names:
            raise ModelError(f"{source}: missing tensor {theirs!r} (expected shape {list(shape)})")
        tensor = tensors[names.pop(theirs)]
        if tuple(tensor.shape) != shape:
            raise ModelError(
                f"{source}: tensor {theirs!r} has shape {list(tensor.shape)}, expected {list(shape)} for {config}"
            )
        state[ours] = (tensor.t() if transposed else tensor).contiguous()
    head = names.pop("lm_head.weight", None)
    if head is not None and config.tie_embeddings and not torch.equal(tensors[head], state["tok_emb.weight"]):
        raise ModelError(f"{source}: 'lm_head.weight' differs from 'wte.weight' but the model ties them")
    if not config.tie_embeddings:
        state["head.weight"] = (tensors[head] if head is not None else state["tok_emb.weight"]).clone()
    unexpected = sorted(key for key in names if not key.endswith(_BUFFER_SUFFIXES))
    if unexpected:
        shown = ", ".join(f"{key!r} {list(tensors[names[key]].shape)}" for key in unexpected[:8])
        more = f" and {len(unexpected) - 8} more" if len(unexpected) > 8 else ""
        raise ModelError(f"{source}: unexpected tensors not in the GPT-2 layout: {shown}{more}")
    return state


def load_into(model: GPT, state: Mapping[str, torch.Tensor], *, source: str = "checkpoint") -> GPT:
    """Copy ``state`` into ``model`` after checking every key and shape; returns ``model``."""
    expected = model.state_dict()
    missing = [key for key in expected if key not in state and not _is_tied_head(model, key)]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        shape = list(expected[missing[0]].shape)
        raise ModelError(f"{source}: missing tensor {missing[0]!r} (expected shape {shape}){more}")
    for key, tensor in state.items():
        if key not in expected:
            raise ModelError(f"{source}: unexpected tensor {key!r} with shape {list(tensor.shape)}")
        if tensor.shape != expected[key].shape:
            raise ModelError(
                f"{source}: tensor {key!r} has shape {list(tensor.shape)}, expected {list(expected[key].shape)}"
            )
    dtype = next(model.parameters()).dtype
    model.load_state_dict({key: value.to(dtype) for key, value in state.items()}, strict=False)
    return model


def _is_tied_head(model: GPT, key: str) -> bool:
    return key == "head.weight" and model.config.tie_embeddings


def load_gpt2_safetensors(path: str | os.PathLike[str], config: GPTConfig) -> GPT:
    """A :class:`GPT` with the GPT-2 weights of a local ``.safetensors`` file (e.g. ``model.safetensors``).

    ``config`` gives the shapes (``GPTConfig.preset("gpt2-small")`` for the 124M model); a file that does
    not match them is rejected with the key and both shapes.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    source = str(path)
    if not Path(path).is_file():
        raise ModelError(f"{source}: checkpoint file not found")
    try:
        tensors = load_file(source, device="cpu")
    except (SafetensorError, OSError) as error:
        raise ModelError(f"{source}: not a readable safetensors file: {error}") from error
    state = gpt2_state_dict(tensors, config, source=source)
    logger.info("loaded %d GPT-2 tensors from %s", len(tensors), source)
    return load_into(GPT(config), state, source=source)


def save_state_dict_file(model: GPT, path: str | os.PathLike[str]) -> Path:
    """Write ``model.state_dict()`` with ``torch.save``, atomically; returns the path."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    target = Path(path)
    atomic_write_bytes(target, buffer.getvalue())
    return target


def load_state_dict_file(path: str | os.PathLike[str], config: GPTConfig) -> GPT:
    """A :class:`GPT` from a ``torch.save``'d state dict of this project's model (loaded with weights only)."""
    source = str(path)
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelError(f"{source}: checkpoint file not found") from None
    except (OSError, RuntimeError, ValueError) as error:
        raise ModelError(f"{source}: not a loadable torch state dict: {error}") from error
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"{source}: expected a state dict (a mapping of names to tensors)")
    return load_into(GPT(config), state, source=source)
