"""Is one style really better? Per-example losses and a paired bootstrap over the examples runs share.

Every run of a comparison is scored on the same validation examples (and answers the same test records),
so two runs differ example by example. Resampling examples (with replacement) and recomputing the
difference each time (of token-weighted losses, or of a per-example generation metric's mean) shows how
much of a margin the choice of examples alone can produce: a margin whose interval excludes zero is a
difference the data can detect; one whose interval holds zero is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .losses import unpack_batch

__all__ = ["bootstrap_interval", "example_losses", "paired_bootstrap"]

RESAMPLES = 2000
LEVEL = 0.95


@torch.no_grad()
def example_losses(
    model: nn.Module, loader: Iterable[Any], *, ignore_index: int, device: str = "cpu"
) -> tuple[list[float], list[int]]:
    """Summed negative log-likelihood of the response-text targets of each example, and their count.

    One entry per example in the loader's order (a validation loader keeps the split's order). The
    batches must carry a response mask; ``ignore_index`` is the collator's value for untrained targets.
    """
    was_training = model.training
    model.eval()
    sums: list[float] = []
    counts: list[int] = []
    for batch in loader:
        inputs, targets, mask = unpack_batch(batch)
        if mask is None:
            raise ValueError("per-example response losses need batches with a response mask")
        targets = targets.to(device)
        logits = model(inputs.to(device)).float()
        nll = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=ignore_index, reduction="none")
        scored = (targets != ignore_index) & mask.to(device, torch.bool)
        sums += (nll * scored).sum(dim=1).tolist()
        counts += scored.sum(dim=1).tolist()
    model.train(was_training)
    return sums, counts


def _percentiles(samples: np.ndarray, level: float) -> tuple[float, float]:
    samples = samples[np.isfinite(samples)]
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def _ratio(values: np.ndarray, weights: np.ndarray, picks: np.ndarray | None = None) -> Any:
    """``sum(values) / sum(weights)``, over each row of ``picks`` when given (a weighted mean)."""
    if picks is None:
        return values.sum() / weights.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return values[picks].sum(1) / weights[picks].sum(1)


def paired_bootstrap(
    first: Mapping[str, Sequence[float]],
    second: Mapping[str, Sequence[float]],
    *,
    value: str = "nll",
    weight: str | None = "tokens",
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> dict[str, Any] | None:
    """The difference ``first - second`` of a weighted mean and its percentile bootstrap interval.

    ``first`` and ``second`` hold per-example columns by record index (``records``), as a run's
    ``training.val_examples`` (``nll`` summed over ``tokens`` scored targets: a token-weighted loss, the
    default) or ``generation.examples`` (say ``weight=None`` for a plain mean, e.g. of ``ended``). The
    statistic is ``sum(value) / sum(weight)`` over the examples. Only examples both runs have (with a
    positive weight) are paired; None when they share none. Seeded, so a report is stable.
    """
    shared = _paired(first, second, value, weight)
    if shared is None:
        return None
    values_a, weights_a, values_b, weights_b = shared
    count = len(values_a)
    picks = np.random.default_rng(seed).integers(0, count, size=(resamples, count))
    samples = _ratio(values_a, weights_a, picks) - _ratio(values_b, weights_b, picks)
    low, high = _percentiles(samples, level)
    return {
        "difference": float(_ratio(values_a, weights_a) - _ratio(values_b, weights_b)),
        "low": low,
        "high": high,
        "level": level,
        "examples": count,
        "resamples": resamples,
    }


def bootstrap_interval(
    values: Sequence[float],
    weights: Sequence[float] | None = None,
    *,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> tuple[float, float] | None:
    """The percentile bootstrap interval of one run's ``sum(values) / sum(weights)`` (a plain mean
    without weights); None without examples or weight. Drawn as the error bars of the report's plots."""
    column = np.asarray(values, dtype=np.float64)
    scale = np.ones_like(column) if weights is None else np.asarray(weights, dtype=np.float64)
    if not len(column) or scale.sum() <= 0:
        return None
    picks = np.random.default_rng(seed).integers(0, len(column), size=(resamples, len(column)))
    return _percentiles(_ratio(column, scale, picks), level)


def _paired(
    first: Mapping[str, Sequence[float]], second: Mapping[str, Sequence[float]], value: str, weight: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The values and weights of the examples both runs have, aligned by record index."""
    where = {int(record): index for index, record in enumerate(second.get("records", ()))}
    rows = [(index, where[int(record)]) for index, record in enumerate(first.get("records", ()))
            if int(record) in where]
    if not rows or value not in first or value not in second:
        return None
    a, b = (np.asarray(column) for column in zip(*rows, strict=True))

    def column(side: Mapping[str, Sequence[float]], key: str | None, at: np.ndarray) -> np.ndarray:
        return np.ones(len(at)) if key is None else np.asarray(side[key], dtype=np.float64)[at]

    weights_a, weights_b = column(first, weight, a), column(second, weight, b)
    keep = (weights_a > 0) & (weights_b > 0)
    if not keep.any():
        return None
    return (column(first, value, a)[keep], weights_a[keep], column(second, value, b)[keep], weights_b[keep])
