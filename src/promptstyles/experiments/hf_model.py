"""Hugging Face causal LMs (Llama, Qwen2, Mistral, Phi-3, ...) behind the same face as our GPT.

The training loop, the losses and generation call a model as ``ids -> logits`` and read
``model.config.vocab_size`` and ``model.config.context_length``; :class:`HFCausalLM` gives a
``transformers`` model exactly that, and takes the collator's attention mask so padding is never attended
to. ``transformers`` and ``peft`` are optional extras, imported on first use.
"""

from __future__ import annotations

import copy
import importlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError, ModelError
from .model_spec import LoraSpec, ModelSpec

__all__ = ["HFCausalLM", "ModelShape", "hf_model_factory"]

logger = logging.getLogger(__name__)

_EXTRA = "pip install 'promptstyles[train]'"


def _require(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ModelError(f"a Hugging Face model needs the {module!r} package ({error}); install the train extra: "
                         f"{_EXTRA}") from error


@dataclass(frozen=True)
class ModelShape:
    """What the engine reads from a model: its token rows and how many positions it attends over."""

    vocab_size: int
    context_length: int


class HFCausalLM(nn.Module):
    """A ``transformers`` causal LM (or a ``peft`` model around one) called as ``ids -> logits``."""

    takes_attention_mask = True
    """The training loop hands this model the batch's attention mask (our GPT takes none)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model
        config = _base_config(model)
        context = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
        self.config = ModelShape(int(model.get_input_embeddings().num_embeddings), int(context or 2**31 - 1))

    def forward(self, ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Packed rows come as ``position_ids`` restarting at 0 for each example and no attention mask:
        ``transformers`` then finds the sequences from the positions and keeps each to itself (SDPA and
        eager build a block-diagonal mask; flash-attention takes them as varlen sequences)."""
        return self.model(input_ids=ids, attention_mask=attention_mask, position_ids=position_ids,
                          use_cache=False).logits

    def next_token_logits(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, vocab_size)`` for the last position only: the head over a 128k vocabulary is most of
        a small model's work, and generation needs one row of it."""
        return self.model(input_ids=ids, use_cache=False, logits_to_keep=1).logits[:, -1, :]

    def num_parameters(self, *, trainable: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable)


def _base_config(model: Any) -> Any:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.config


def _dtype(name: str, device: str) -> torch.dtype:
    dtype: torch.dtype = getattr(torch, name)
    if dtype == torch.bfloat16 and device.startswith("cuda") and not torch.cuda.is_bf16_supported():
        raise ConfigError("this GPU has no bfloat16; use float16 or float32", path="model.dtype")
    return dtype


def _build(spec: ModelSpec, vocab_size: int, seed: int) -> Any:
    transformers = _require("transformers")
    if spec.init is not None:
        init = dict(spec.init)
        model_type = init.pop("model_type")
        try:
            config = transformers.AutoConfig.for_model(model_type, **{**init, "vocab_size": vocab_size})
        except (ValueError, TypeError) as error:
            raise ConfigError(f"not a transformers config: {error}", path="model.init") from None
        torch.manual_seed(seed)
        return transformers.AutoModelForCausalLM.from_config(config)
    assert spec.path is not None
    if not Path(spec.path).expanduser().is_dir():
        raise ConfigError(f"{spec.path}: no such model folder; download the model and give its folder",
                          path="model.path")
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(spec.path)
    except (OSError, ValueError) as error:
        raise ModelError(f"model.path {spec.path}: transformers cannot load it ({error})") from error
    if model.get_input_embeddings().num_embeddings < vocab_size:
        model.resize_token_embeddings(vocab_size)
        logger.info("resized the token embedding to the tokenizer's %d ids", vocab_size)
    return model


def _with_lora(model: nn.Module, lora: LoraSpec) -> nn.Module:
    peft = _require("peft")
    config = peft.LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                             target_modules=list(lora.target_modules), task_type="CAUSAL_LM")
    try:
        return peft.get_peft_model(model, config)
    except ValueError as error:
        raise ConfigError(f"{error}", path="model.lora.target_modules") from None
    except ImportError as error:  # peft refuses an installed optional package it supports, e.g. an old torchao
        found = re.search(r"incompatible version of ([A-Za-z_][\w-]*)", str(error))
        package = found.group(1) if found else getattr(error, "name", None) or "peft"
        raise ModelError(f"LoRA adapters (peft) cannot load with the installed {package!r}: {error}. Upgrade it: "
                         f"pip install -U {package}, or install the versions the train extra declares: "
                         f"{_EXTRA}") from error


def hf_model_factory(spec: ModelSpec, seed: int, device: str = "cpu") -> Callable[[int], HFCausalLM]:
    """A function giving a fresh copy of the same initial model for a tokenizer's vocabulary size.

    The weights are built (``init``, from ``seed``) or loaded (``path``) once per vocabulary size, then
    copied for each run, so every style starts from the same model; LoRA adapters are added to each copy
    from the same seed. The copy is cast to ``model.dtype`` and moved to ``device``.
    """
    dtype = _dtype(spec.dtype, device)
    bases: dict[int, nn.Module] = {}

    def make(vocab_size: int) -> HFCausalLM:
        if vocab_size not in bases:
            bases[vocab_size] = _build(spec, vocab_size, seed)
            logger.info("model: %s, %.1fM parameters", spec.path or spec.init.get("model_type"),  # type: ignore[union-attr]
                        sum(p.numel() for p in bases[vocab_size].parameters()) / 1e6)
        model = copy.deepcopy(bases[vocab_size]).to(dtype=dtype)
        if spec.lora is not None:
            torch.manual_seed(seed)
            model = _with_lora(model, spec.lora)
        return HFCausalLM(model).to(device)

    return make
