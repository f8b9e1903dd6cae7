"""A GPT with the GPT-2 architecture, small enough to read in one sitting.

Styles are compared by fine-tuning the same model on each, so the model lives here rather than in a
third-party package: its parameter names are ours, its checkpoints load without remote code, and the
``tiny`` preset trains on a laptop CPU in minutes. The layout follows GPT-2: token and learned position
embeddings, pre-LayerNorm blocks (causal multi-head attention, then a 4x GELU MLP), a final LayerNorm and
an output head that may share its weights with the token embedding.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.nn import functional as F

from .._schema import Invalid
from ..data.batches.packed import block_causal_mask
from ..errors import ModelError

__all__ = ["GPT", "GPTConfig", "PRESETS", "resize_token_embeddings"]

logger = logging.getLogger(__name__)

GPT2_VOCAB_SIZE = 50257


@dataclass(frozen=True)
class GPTConfig:
    """The shape of a GPT. Validated on creation, so a YAML value that cannot work names its key."""

    vocab_size: int = GPT2_VOCAB_SIZE
    context_length: int = 512
    emb_dim: int = 128
    n_heads: int = 4
    n_layers: int = 4
    drop_rate: float = 0.0
    qkv_bias: bool = False
    tie_embeddings: bool = True
    """Whether the output head shares its weight with the token embedding (GPT-2 does)."""

    def __post_init__(self) -> None:
        for key in ("vocab_size", "context_length", "emb_dim", "n_heads", "n_layers"):
            if getattr(self, key) < 1:
                raise Invalid(key, f"must be at least 1, got {getattr(self, key)}")
        if self.emb_dim % self.n_heads:
            raise Invalid("n_heads", f"must divide emb_dim ({self.emb_dim}), got {self.n_heads}")
        if not 0.0 <= self.drop_rate < 1.0:
            raise Invalid("drop_rate", f"must be in [0, 1), got {self.drop_rate}")

    @classmethod
    def preset(cls, name: str, **overrides: object) -> GPTConfig:
        """A named preset (``tiny``, ``gpt2-small``, ``gpt2-medium``) with some fields replaced."""
        try:
            base = PRESETS[name]
        except KeyError:
            raise ModelError(f"unknown model preset {name!r}; expected one of {', '.join(PRESETS)}") from None
        return replace(base, **overrides)  # type: ignore[arg-type]


PRESETS: dict[str, GPTConfig] = {
    # Random init, trains on two CPU cores in minutes; the default of every comparison.
    "tiny": GPTConfig(),
    # The published GPT-2 shapes (124M and 355M parameters), for loading their weights.
    "gpt2-small": GPTConfig(context_length=1024, emb_dim=768, n_heads=12, n_layers=12, qkv_bias=True),
    "gpt2-medium": GPTConfig(context_length=1024, emb_dim=1024, n_heads=16, n_layers=24, qkv_bias=True),
}


class CausalSelfAttention(nn.Module):
    """Multi-head attention where each position sees only itself and earlier positions.

    Query, key and value come from one fused projection (``qkv``), the layout GPT-2 checkpoints use, so
    loading them is a transpose rather than a split.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.drop_rate = config.drop_rate
        self.qkv = nn.Linear(config.emb_dim, 3 * config.emb_dim, bias=config.qkv_bias)
        self.proj = nn.Linear(config.emb_dim, config.emb_dim)
        self.resid_drop = nn.Dropout(config.drop_rate)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``mask``: a boolean ``(B, 1, T, T)`` mask (True: may attend) in place of the plain causal one."""
        batch, length, emb = x.shape
        q, k, v = self.qkv(x).split(emb, dim=2)
        shape = (batch, length, self.n_heads, emb // self.n_heads)
        q, k, v = (t.view(shape).transpose(1, 2) for t in (q, k, v))
        dropout = self.drop_rate if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout, is_causal=mask is None)
        out = out.transpose(1, 2).contiguous().view(batch, length, emb)
        return self.resid_drop(self.proj(out))


class MLP(nn.Module):
    """The position-wise feed-forward layer: 4x wider, GELU (tanh approximation, as GPT-2 was trained)."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(config.emb_dim, 4 * config.emb_dim)
        self.proj = nn.Linear(4 * config.emb_dim, config.emb_dim)
        self.drop = nn.Dropout(config.drop_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.proj(F.gelu(self.fc(x), approximate="tanh")))


class Block(nn.Module):
    """A pre-LayerNorm transformer block: ``x + attn(ln1(x))``, then ``x + mlp(ln2(x))``."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.emb_dim)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.emb_dim)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), mask)
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """The model: ``ids (B, T) -> logits (B, T, vocab_size)``."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.emb_dim)
        self.pos_emb = nn.Embedding(config.context_length, config.emb_dim)
        self.drop = nn.Dropout(config.drop_rate)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.emb_dim)
        self.head = nn.Linear(config.emb_dim, config.vocab_size, bias=False)
        self.apply(self._init_weights)
        # GPT-2's scaled init of the projections that write into the residual stream.
        for name, parameter in self.named_parameters():
            if name.endswith("proj.weight"):
                nn.init.normal_(parameter, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layers))
        if config.tie_embeddings:
            self.head.weight = self.tok_emb.weight

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_parameters(self) -> int:
        """Distinct parameters (a tied head counts once)."""
        return sum(p.numel() for p in self.parameters())

    def hidden_states(self, ids: torch.Tensor, position_ids: torch.Tensor | None = None) -> torch.Tensor:
        """The final-LayerNorm output ``(B, T, emb_dim)``, before the head.

        ``position_ids`` (``(B, T)``, restarting at 0 for each example) make a packed row: each example gets
        its own positions and attends only to itself (see ``promptstyles.data.batches.packed``).
        """
        length = ids.shape[1]
        if length > self.config.context_length:
            raise ModelError(
                f"input of {length} tokens exceeds the model's context length {self.config.context_length};"
                " truncate it (collate.allowed_max_length) or crop it"
            )
        mask = None if position_ids is None else block_causal_mask(position_ids)
        positions = torch.arange(length, device=ids.device) if position_ids is None else position_ids
        x = self.drop(self.tok_emb(ids) + self.pos_emb(positions))
        for block in self.blocks:
            x = block(x, mask)
        return self.ln_f(x)

    def forward(self, ids: torch.Tensor, position_ids: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.hidden_states(ids, position_ids))

    def next_token_logits(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, vocab_size)`` for the last position only; generation needs no more."""
        return self.head(self.hidden_states(ids)[:, -1, :])


def resize_token_embeddings(model: GPT, vocab_size: int) -> GPT:
    """Grow (or shrink) the token embedding and head to ``vocab_size``, in place; returns ``model``.

    A tokenizer that gives a style's markup new special ids needs rows for them. Existing rows keep their
    values; new rows start at the mean of the existing embedding, so a new token begins as an "average"
    token instead of a random direction that would dominate the first updates.
    """
    old = model.config.vocab_size
    if vocab_size == old:
        return model
    if vocab_size < 1:
        raise ModelError(f"vocab_size must be at least 1, got {vocab_size}")
    with torch.no_grad():
        model.tok_emb.weight = nn.Parameter(_resized_rows(model.tok_emb.weight, vocab_size))
        model.tok_emb.num_embeddings = vocab_size
        if model.config.tie_embeddings:
            model.head.weight = model.tok_emb.weight
        else:
            model.head.weight = nn.Parameter(_resized_rows(model.head.weight, vocab_size))
        model.head.out_features = vocab_size
    model.config = replace(model.config, vocab_size=vocab_size)
    logger.info("resized the token embedding from %d to %d rows", old, vocab_size)
    return model


def _resized_rows(weight: torch.Tensor, rows: int) -> torch.Tensor:
    keep = min(weight.shape[0], rows)
    resized = weight.new_empty((rows, weight.shape[1]))
    resized[:keep] = weight[:keep]
    resized[keep:] = weight.mean(dim=0)
    return resized
