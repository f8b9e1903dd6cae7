"""The ``model`` section of an experiment: our GPT (a preset or a checkpoint) or a Hugging Face causal LM.

A Hugging Face model comes from a local folder (``path``: weights, config and its own tokenizer) or is built
with random weights from a ``transformers`` config (``init``), its vocabulary sized to the tokenizer, so a
comparison on a real architecture needs no download. Both train fully, or through LoRA adapters (``lora``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .._schema import Invalid, to_mapping
from .model import GPTConfig

__all__ = ["DTYPES", "LoraSpec", "ModelSpec"]

DTYPES = ("float32", "bfloat16", "float16")
"""The weight dtypes a Hugging Face model may load in."""


@dataclass(frozen=True)
class LoraSpec:
    """LoRA adapters (``peft``): only the low-rank matrices added to ``target_modules`` train."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")

    def __post_init__(self) -> None:
        if self.r < 1:
            raise Invalid("r", f"must be at least 1, got {self.r}")
        if not 0.0 <= self.dropout < 1.0:
            raise Invalid("dropout", f"must be in [0, 1), got {self.dropout}")
        if not self.target_modules:
            raise Invalid("target_modules", "name at least one module, e.g. [q_proj, v_proj]")


@dataclass(frozen=True)
class ModelSpec:
    """Where the model comes from. Our GPT: a preset initialised from the seed, or a checkpoint on top of a
    preset. A Hugging Face causal LM: ``path`` (a local model folder) or ``init`` (a config, random weights)."""

    preset: Literal["tiny", "gpt2-small", "gpt2-medium"] = "tiny"
    checkpoint: str | None = None
    format: Literal["auto", "safetensors", "state_dict"] = "auto"
    """``auto``: ``.safetensors`` files hold the published GPT-2 keys, anything else a torch.save state dict."""
    config: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    """A local ``transformers`` model folder; its tokenizer (the same folder) becomes the runs' tokenizer."""
    init: dict[str, Any] | None = None
    """A ``transformers`` config with ``model_type`` (e.g. ``{model_type: llama, hidden_size: 64}``); the
    model gets random weights from the seed and as many token rows as the tokenizer has ids."""
    tokenizer: str | None = None
    """The runs' tokenizer (a model folder or ``tokenizer.json``); default: ``path``, else ``base.tokenizer``."""
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    lora: LoraSpec | None = None

    def __post_init__(self) -> None:
        if self.path is not None and self.init is not None:
            raise Invalid("init", "give either model.path (a model folder) or model.init (a config), not both")
        if self.init is not None and not isinstance(self.init.get("model_type"), str):
            raise Invalid("init", "needs model_type, e.g. {model_type: llama, hidden_size: 64, ...}")
        if self.is_hf:
            if self.checkpoint is not None or self.config:
                key = "checkpoint" if self.checkpoint is not None else "config"
                raise Invalid(key, "belongs to the GPT model; a Hugging Face model takes path or init")
            return
        for key in ("tokenizer", "lora"):
            if getattr(self, key) is not None:
                raise Invalid(key, "needs a Hugging Face model: set model.path or model.init")
        if self.dtype != "float32":
            raise Invalid("dtype", "needs a Hugging Face model: set model.path or model.init")

    @property
    def is_hf(self) -> bool:
        """Whether this is a Hugging Face causal LM rather than our GPT."""
        return self.path is not None or self.init is not None

    def settings(self) -> dict[str, Any]:
        """The keys that chose the model that ran, for a report: a Hugging Face model's or our GPT's, not both."""
        hf = ("path", "init", "tokenizer", "dtype", "lora")
        return {key: value for key, value in to_mapping(self).items() if (key in hf) == self.is_hf}

    @property
    def tokenizer_path(self) -> str | None:
        """The tokenizer the model dictates: ``tokenizer``, else the model folder; None for the base's own."""
        return self.tokenizer if self.tokenizer is not None else self.path

    @property
    def checkpoint_format(self) -> str | None:
        if self.checkpoint is None:
            return None
        if self.format != "auto":
            return self.format
        return "safetensors" if self.checkpoint.endswith(".safetensors") else "state_dict"

    def gpt_config(self) -> GPTConfig:
        """The model's shape: the preset with ``config`` applied."""
        return GPTConfig.preset(self.preset, **self.config)
