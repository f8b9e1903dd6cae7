"""Is one style's loss really lower? Per-example losses and a paired bootstrap over validation examples.

Every run of a comparison is scored on the same validation examples, so two runs differ example by
example. Resampling examples (with replacement) and recomputing the difference of the token-weighted
losses each time shows how much of a margin the choice of examples alone can produce: a margin whose
interval excludes zero is a difference the data can detect; one whose interval holds zero is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .train import unpack_batch

__all__ = ["example_losses", "paired_bootstrap"]

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


def paired_bootstrap(
    first: Mapping[str, Sequence[float]],
    second: Mapping[str, Sequence[float]],
    *,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> dict[str, Any] | None:
    """The difference ``first - second`` of token-weighted losses and its percentile bootstrap interval.

    ``first`` and ``second`` are per-example losses as stored in a run's ``training.val_examples``:
    ``records`` (record indices), ``nll`` (summed loss) and ``tokens`` (scored targets). Only examples
    both runs scored are paired; None when they share no scored example. Seeded, so a report is stable.
    """
    shared = _paired(first, second)
    if shared is None:
        return None
    nll_a, tokens_a, nll_b, tokens_b = shared
    count = len(nll_a)
    picks = np.random.default_rng(seed).integers(0, count, size=(resamples, count))
    with np.errstate(invalid="ignore", divide="ignore"):
        samples = nll_a[picks].sum(1) / tokens_a[picks].sum(1) - nll_b[picks].sum(1) / tokens_b[picks].sum(1)
    samples = samples[np.isfinite(samples)]
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return {
        "difference": float(nll_a.sum() / tokens_a.sum() - nll_b.sum() / tokens_b.sum()),
        "low": float(low),
        "high": float(high),
        "level": level,
        "examples": count,
        "resamples": resamples,
    }


def _paired(
    first: Mapping[str, Sequence[float]], second: Mapping[str, Sequence[float]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The losses of the examples both runs scored, aligned by record index."""
    where = {int(record): index for index, record in enumerate(second.get("records", ()))}
    rows = [(index, where[int(record)]) for index, record in enumerate(first.get("records", ()))
            if int(record) in where]
    if not rows:
        return None
    a, b = (np.asarray(column) for column in zip(*rows, strict=True))
    tokens_a = np.asarray(first["tokens"], dtype=np.float64)[a]
    tokens_b = np.asarray(second["tokens"], dtype=np.float64)[b]
    keep = (tokens_a > 0) & (tokens_b > 0)
    if not keep.any():
        return None
    return (np.asarray(first["nll"], dtype=np.float64)[a][keep], tokens_a[keep],
            np.asarray(second["nll"], dtype=np.float64)[b][keep], tokens_b[keep])
