"""Training a model on batches of ``(inputs, targets)`` with AdamW on the language-model loss.

The losses and validation scoring live in :mod:`.losses`; this module owns the loop, its budget and what it
records (loss curves, tokens seen), on one process or under DistributedDataParallel.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import torch
from torch import nn

from .._schema import Invalid
from ..distributed import all_reduce_sum, local_device, process_group
from .losses import IGNORE_INDEX, EvalResult, evaluate, lm_loss, logits_of, response_loss, summed_nll, unpack_batch
from .precision import PRECISIONS, Precision, autocast, check_precision, grad_scaler

__all__ = [
    "EvalResult",
    "LossCurve",
    "Progress",
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "lm_loss",
    "response_loss",
    "train",
]

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class TrainConfig:
    """The training budget and optimiser; one per comparison, identical for every style."""

    max_steps: int | None = None
    """Stop after this many optimiser steps (wins over ``epochs`` when both are set)."""
    epochs: int = 1
    learning_rate: float = 5e-4
    weight_decay: float = 0.1
    grad_clip: float | None = 1.0
    eval_every: int = 10
    """Evaluate on the validation loader every this many steps (and always after the last step)."""
    eval_batches: int | None = None
    """Evaluate on at most this many validation batches (all by default)."""
    seed: int = 123
    device: str = "cpu"
    precision: Precision = "fp32"
    """fp32 | bf16 | fp16: autocast for the forward pass (see :mod:`promptstyles.experiments.precision`)."""
    compile: bool = False
    """Train through ``torch.compile(model)`` (the first steps compile; worth it on a GPU)."""
    objective: Literal["sft", "dpo"] = "sft"
    """``sft`` fine-tunes on the responses; ``dpo`` trains on preference pairs with DPO's loss against the
    start as reference (see :mod:`promptstyles.experiments.dpo_runs`)."""
    beta: float = 0.1
    """DPO's beta: how far the policy may move from the reference (``objective: dpo``)."""

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise Invalid("precision", f"expected one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.max_steps is not None and self.max_steps < 1:
            raise Invalid("max_steps", f"must be at least 1, got {self.max_steps}")
        for key in ("epochs", "eval_every"):
            if getattr(self, key) < 1:
                raise Invalid(key, f"must be at least 1, got {getattr(self, key)}")
        if self.eval_batches is not None and self.eval_batches < 1:
            raise Invalid("eval_batches", f"must be at least 1, got {self.eval_batches}")
        if self.learning_rate <= 0:
            raise Invalid("learning_rate", f"must be positive, got {self.learning_rate}")
        if self.beta <= 0:
            raise Invalid("beta", f"must be positive, got {self.beta}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise Invalid("grad_clip", f"must be positive, got {self.grad_clip}")


@dataclass
class LossCurve:
    """Loss curves as parallel lists, one entry per evaluation; plain data for JSON and plots."""

    step: list[int] = field(default_factory=list)
    tokens_seen: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    val_response_loss: list[float | None] = field(default_factory=list)


@dataclass
class TrainResult:
    """What a training run produced, as plain data (``to_dict`` gives JSON-ready dicts and lists)."""

    steps: int
    tokens_seen: int
    seconds: float
    curve: LossCurve
    final: EvalResult | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Progress:
    """Handed to a progress callback after every step."""

    step: int
    total_steps: int
    epoch: int
    loss: float
    val_loss: float | None = None


def _batches(loader: Iterable[Any], epochs: int, max_steps: int | None) -> Iterator[tuple[int, Any]]:
    step = 0
    epoch = 0
    while max_steps is not None or epoch < epochs:
        produced = False
        for batch in loader:
            produced = True
            yield epoch, batch
            step += 1
            if max_steps is not None and step >= max_steps:
                return
        if not produced:
            return
        epoch += 1


def _total_steps(loader: Iterable[Any], config: TrainConfig) -> int:
    if config.max_steps is not None:
        return config.max_steps
    try:
        per_epoch = len(loader)  # type: ignore[arg-type]
    except TypeError:
        per_epoch = 0
    return per_epoch * config.epochs


def _data_parallel(model: nn.Module, device: str) -> nn.Module:
    """``model`` in DistributedDataParallel, which starts every rank from rank 0's weights."""
    where = torch.device(device)
    ids = [where.index if where.index is not None else torch.cuda.current_device()] if where.type == "cuda" else None
    logger.info("training with DistributedDataParallel on %d processes", process_group().world_size)
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def train(
    model: nn.Module,
    train_loader: Iterable[Any],
    val_loader: Iterable[Any] | None = None,
    config: TrainConfig | None = None,
    *,
    progress: Callable[[Progress], None] | None = None,
    ignore_index: int = IGNORE_INDEX,
) -> TrainResult:
    """Train ``model`` in place with AdamW on ``lm_loss``, evaluating every ``config.eval_every`` steps.

    The seed is set before the first step, so with the same model, loaders and config a run gives the
    same numbers. The data order is the loader's own (seed its sampler for identical order per style).
    ``ignore_index`` must be the one the loaders' collator writes into untrained targets.

    In a multi-process job (``torchrun``; see :mod:`promptstyles.distributed`) the model trains wrapped in
    DistributedDataParallel on each rank's share of the batches; the step losses and ``tokens_seen`` are
    over all ranks, and every rank evaluates the whole validation loader, so every rank returns the same
    result. A bare ``cuda`` device means this rank's ``cuda:LOCAL_RANK``.
    """
    config = config or TrainConfig()
    config = replace(config, device=local_device(config.device))
    check_precision(config.precision, config.device)
    torch.manual_seed(config.seed)
    model.to(config.device).train()
    trainable = [p for p in model.parameters() if p.requires_grad]  # LoRA: the adapters only
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
    scaler = grad_scaler(config.precision, config.device)
    world_size = process_group().world_size
    wrapped = model if world_size == 1 else _data_parallel(model, config.device)
    forward: nn.Module = torch.compile(wrapped) if config.compile else wrapped  # type: ignore[assignment]
    scorer = forward if world_size == 1 else model  # every rank evaluates alone, outside the wrapper's syncs
    total_steps = _total_steps(train_loader, config)
    curve = LossCurve()
    step = tokens_seen = 0
    window: list[float] = []
    last_eval: EvalResult | None = None
    started = time.perf_counter()

    def record() -> EvalResult | None:
        result = None
        if val_loader is not None:
            result = evaluate(scorer, val_loader, max_batches=config.eval_batches, device=config.device,
                              ignore_index=ignore_index, precision=config.precision)
        curve.step.append(step)
        curve.tokens_seen.append(tokens_seen)
        curve.train_loss.append(sum(window) / len(window) if window else math.nan)
        curve.val_loss.append(None if result is None else result.loss)
        curve.val_response_loss.append(None if result is None else result.response_loss)
        window.clear()
        return result

    for epoch, batch in _batches(train_loader, config.epochs, config.max_steps):
        inputs, targets, _ = unpack_batch(batch)
        inputs, targets = inputs.to(config.device), targets.to(config.device)
        optimizer.zero_grad(set_to_none=True)
        with autocast(config.precision, config.device):
            logits = logits_of(forward, inputs, batch)
        total, count = summed_nll(logits, targets, None, ignore_index)
        (scored,) = all_reduce_sum(count) if world_size > 1 else (count,)
        # DDP averages gradients over ranks: scaling by world_size / all scored tokens makes that average the
        # gradient of the mean loss over every rank's scored tokens, as one process on the union batch.
        loss = total * world_size / max(scored, 1)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
        else:
            loss.backward()
        if config.grad_clip is not None:
            nn.utils.clip_grad_norm_(trainable, config.grad_clip)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        step += 1
        tokens_seen += int(scored)
        value = loss.item() if world_size == 1 else all_reduce_sum(total.item())[0] / max(scored, 1)
        window.append(value)
        val = None
        if step % config.eval_every == 0:
            last_eval = record()
            val = None if last_eval is None else last_eval.loss
            shown = "-" if val is None else f"{val:.4f}"
            logger.info("step %d/%d: train loss %.4f, val loss %s", step, total_steps, curve.train_loss[-1], shown)
        if progress is not None:
            progress(Progress(step, max(total_steps, step), epoch, value, val))
    if window or not curve.step:
        last_eval = record()
    seconds = time.perf_counter() - started
    logger.info("trained %d steps on %d target tokens in %.1f s", step, tokens_seen, seconds)
    return TrainResult(step, tokens_seen, seconds, curve, last_eval)
