"""The losses that make styles comparable, and scoring a model over a loader.

Two losses matter when styles are compared. :func:`lm_loss` is the usual cross-entropy over every target
the collator did not ignore; it is what a style trains on, and it differs between styles because their
markup differs. :func:`response_loss` scores only chosen positions, the tokens of the response text
itself, which are the same tokens for every style; it is the headline number of a comparison.

Validation losses are token-weighted over the whole loader (summed negative log-likelihood divided by the
number of scored tokens), not means of batch means, so a batch with few scored tokens weighs little.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .precision import Precision, autocast

__all__ = ["IGNORE_INDEX", "EvalResult", "evaluate", "lm_loss", "logits_of", "response_loss", "summed_nll",
           "unpack_batch"]

IGNORE_INDEX = -100
"""PyTorch's default; a comparison passes its collator's own ``ignore_index`` instead (the collator owns it)."""


def summed_nll(
    logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor | None, ignore_index: int
) -> tuple[torch.Tensor, int]:
    """Summed cross-entropy over the scored positions, and how many there are."""
    scored = targets != ignore_index
    if mask is not None:
        scored = scored & mask.to(torch.bool)
    count = int(scored.sum())
    if count == 0:
        return logits.sum() * 0.0, 0
    total = F.cross_entropy(logits[scored].float(), targets[scored], reduction="sum")
    return total, count


def lm_loss(logits: torch.Tensor, targets: torch.Tensor, *, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Mean cross-entropy over every target that is not ``ignore_index``.

    ``logits`` is ``(B, T, V)`` and ``targets`` ``(B, T)``. Returns 0 (attached to the graph, so a step
    is a no-op) when nothing is scored, where plain cross-entropy would return NaN and poison the weights.
    """
    total, count = summed_nll(logits, targets, None, ignore_index)
    return total / max(count, 1)


def response_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    scored_mask: torch.Tensor,
    *,
    ignore_index: int = IGNORE_INDEX,
) -> torch.Tensor:
    """Mean cross-entropy over the positions where ``scored_mask`` (``(B, T)``, bool) is True.

    The mask marks the targets that are response text (markup excluded), so every style is scored on the
    same tokens. Positions whose target is ``ignore_index`` are never scored, mask or not.
    """
    total, count = summed_nll(logits, targets, scored_mask, ignore_index)
    return total / max(count, 1)


def logits_of(model: nn.Module, inputs: torch.Tensor, batch: Any) -> torch.Tensor:
    """``model``'s logits for ``inputs``, with the batch's attention mask for a model that takes one, or a
    packed batch's position ids (which tell the model where each example starts)."""
    positions = getattr(batch, "position_ids", None)
    if positions is not None:
        return model(inputs, position_ids=positions.to(inputs.device))
    mask = getattr(batch, "attention_mask", None)
    if mask is not None and getattr(model, "takes_attention_mask", False):
        return model(inputs, attention_mask=mask.to(inputs.device))
    return model(inputs)


def unpack_batch(batch: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(inputs, targets, response_mask or None)`` from a batch.

    Accepts ``(inputs, targets)``, ``(inputs, targets, response_mask)``, or any batch that unpacks as
    ``inputs, targets = batch`` and carries a ``response_mask`` attribute.
    """
    mask = getattr(batch, "response_mask", None)
    items = tuple(batch)
    if len(items) == 3:
        return items[0], items[1], items[2]
    inputs, targets = items
    return inputs, targets, mask


@dataclass(frozen=True)
class EvalResult:
    """Token-weighted validation losses: all supervised targets, and response-text targets only."""

    loss: float
    response_loss: float | None
    tokens: int
    response_tokens: int


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: Iterable[Any], *, max_batches: int | None = None, device: str = "cpu",
    ignore_index: int = IGNORE_INDEX, precision: Precision = "fp32",
) -> EvalResult:
    """Token-weighted losses of ``model`` over ``loader`` (at most ``max_batches`` batches).

    ``response_loss`` is None when the batches carry no response mask. ``ignore_index`` is the value
    the loader's collator gives untrained targets.
    """
    was_training = model.training
    model.eval()
    loss_sum = response_sum = 0.0
    tokens = response_tokens = 0
    has_mask = False
    for number, batch in enumerate(loader):
        if max_batches is not None and number >= max_batches:
            break
        inputs, targets, mask = unpack_batch(batch)
        targets = targets.to(device)
        with autocast(precision, device):
            logits = logits_of(model, inputs.to(device), batch)
        total, count = summed_nll(logits, targets, None, ignore_index)
        loss_sum, tokens = loss_sum + float(total), tokens + count
        if mask is not None:
            has_mask = True
            total, count = summed_nll(logits, targets, mask.to(device), ignore_index)
            response_sum, response_tokens = response_sum + float(total), response_tokens + count
    model.train(was_training)
    loss = loss_sum / tokens if tokens else math.nan
    response = (response_sum / response_tokens if response_tokens else math.nan) if has_mask else None
    return EvalResult(loss, response, tokens, response_tokens)
