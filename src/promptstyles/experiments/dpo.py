"""Direct preference optimisation on pair batches: the loss, its rewards, and a loop that trains with it.

The loss is DPO's sigmoid loss: with ``log pi(y|x)`` summed over a completion's trained labels, ``beta`` and a
frozen reference model (the SFT start), ``-log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r)))``. The
implicit rewards ``beta * (pi - ref)`` of the chosen and rejected completions give the two numbers a report
shows: the reward margin (chosen minus rejected) and the reward accuracy (how often chosen wins).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .train import TrainConfig

__all__ = ["DPOResult", "dpo_loss", "evaluate_dpo", "sequence_logps", "train_dpo"]

logger = logging.getLogger(__name__)

IGNORE = -100


def sequence_logps(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                   labels: torch.Tensor) -> torch.Tensor:
    """Summed log-probability of each row's trained labels (unshifted, ``-100`` where untrained)."""
    logits = model(input_ids, attention_mask=attention_mask)[:, :-1].float()
    # The fused cross-entropy: no second vocabulary-wide tensor of log-probabilities (0 where untrained).
    token_nll = F.cross_entropy(logits.transpose(1, 2), labels[:, 1:], ignore_index=IGNORE, reduction="none")
    return -token_nll.sum(dim=-1)


def _pair_logps(model: nn.Module, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Chosen and rejected log-probabilities in one forward pass (the rows share a width)."""
    ids = torch.cat([batch["chosen_input_ids"], batch["rejected_input_ids"]])
    mask = torch.cat([batch["chosen_attention_mask"], batch["rejected_attention_mask"]])
    labels = torch.cat([batch["chosen_labels"], batch["rejected_labels"]])
    logps = sequence_logps(model, ids, mask, labels)
    count = len(batch["chosen_input_ids"])
    return logps[:count], logps[count:]


def dpo_loss(policy: tuple[torch.Tensor, torch.Tensor], reference: tuple[torch.Tensor, torch.Tensor], *,
             beta: float = 0.1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean DPO loss over pairs, and the chosen and rejected rewards of each pair."""
    chosen_ratio = policy[0] - reference[0]
    rejected_ratio = policy[1] - reference[1]
    loss = -F.logsigmoid(beta * (chosen_ratio - rejected_ratio)).mean()
    return loss, beta * chosen_ratio.detach(), beta * rejected_ratio.detach()


@dataclass(frozen=True)
class DPOResult:
    """Mean loss, reward margin and reward accuracy over pairs; ``margins`` per pair, for paired statistics."""

    loss: float
    reward_margin: float
    reward_accuracy: float
    margins: tuple[float, ...]


def evaluate_dpo(model: nn.Module, reference: nn.Module, loader: Iterable[Mapping[str, torch.Tensor]], *,
                 beta: float = 0.1, device: str = "cpu") -> DPOResult:
    """The DPO loss and rewards of ``model`` against ``reference`` over a loader of pair batches."""
    was_training = model.training
    model.eval()
    losses: list[torch.Tensor] = []
    margins: list[torch.Tensor] = []
    with torch.no_grad():
        for batch in loader:
            batch = {key: value.to(device) for key, value in batch.items()}
            pairs = _pair_logps(model, batch)
            _loss, chosen, rejected = dpo_loss(pairs, _pair_logps(reference, batch), beta=beta)
            margin = chosen - rejected
            losses.append(-F.logsigmoid(margin))
            margins.append(margin)
    model.train(was_training)
    every = torch.cat(margins)
    return DPOResult(float(torch.cat(losses).mean()), float(every.mean()), float((every > 0).float().mean()),
                     tuple(every.tolist()))


def train_dpo(model: nn.Module, loader: Iterable[Mapping[str, torch.Tensor]], config: TrainConfig | None = None, *,
              beta: float = 0.1, reference: nn.Module | None = None) -> list[float]:
    """Train ``model`` in place with AdamW on the DPO loss; the reference is a frozen copy of the model as it
    starts (the SFT start) unless given. Returns each step's loss."""
    config = config or TrainConfig()
    torch.manual_seed(config.seed)
    model.to(config.device).train()
    if reference is None:
        reference = copy.deepcopy(model)
    reference.to(config.device).eval().requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
    losses: list[float] = []
    for _epoch in range(config.epochs):
        for batch in loader:
            batch = {key: value.to(config.device) for key, value in batch.items()}
            with torch.no_grad():
                reference_logps = _pair_logps(reference, batch)
            loss, _chosen, _rejected = dpo_loss(_pair_logps(model, batch), reference_logps, beta=beta)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip is not None:
                nn.utils.clip_grad_norm_(trainable, config.grad_clip)
            optimizer.step()
            losses.append(loss.item())
            if config.max_steps is not None and len(losses) >= config.max_steps:
                return losses
    logger.info("DPO: %d steps, last loss %.4f", len(losses), losses[-1] if losses else float("nan"))
    return losses
