"""Ranking styles by a DPO run: the same pairs, the same start, the same budget; reward margins compared.

Each style renders the same preference pairs; a model built fresh from the same seed (the SFT start, which
is also DPO's frozen reference) trains with DPO on the same pairs in the same order, and is scored on the
same held-out pairs. Styles are ranked by the mean reward margin on those pairs, with paired bootstrap
intervals of each style's difference to the best (the pairs both runs kept, as in the SFT comparison).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.batches.pairs import PairCollator
from ..data.build.pairs import tokenize_pairs
from ..data.pairs import PairDataset, TruncationMode
from ..data.tokenizers.protocol import Tokenizer
from ..errors import DataError
from ..styles._base import Style
from ..styles.registry import get_style
from .dpo import evaluate_dpo, train_dpo
from .paired import paired_bootstrap
from .train import TrainConfig

__all__ = ["compare_dpo", "dpo_report", "rank_by_margin"]

logger = logging.getLogger(__name__)


def _loader(pairs: PairDataset, collator: PairCollator, batch_size: int, seed: int | None) -> Any:
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    # The pair dataset hands whole batches of indices to the collator (``__getitems__``).
    return torch.utils.data.DataLoader(pairs, batch_size=batch_size, shuffle=seed is not None, generator=generator,
                                       collate_fn=collator)  # type: ignore[arg-type]


def compare_dpo(
    pairs: Sequence[Any], styles: Sequence[str | Style], tokenizer: Tokenizer, make_model: Callable[[int], nn.Module],
    *, config: TrainConfig | None = None, beta: float = 0.1, batch_size: int = 4, val_fraction: float = 0.2,
    allowed_max_length: int | None = None, truncation_mode: TruncationMode = "keep_start",
) -> dict[str, Any]:
    """Train each style with DPO from ``make_model(vocab_size)`` (called anew per style: the same start) and
    return per style the held-out ``reward_margin``, ``reward_accuracy`` and ``loss``, each pair's margin
    (``val_examples``), and ``paired`` intervals of each style's difference to the best."""
    config = config or TrainConfig()
    if not 0 < val_fraction < 1:
        raise DataError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    held_out = max(1, round(len(pairs) * val_fraction))
    if held_out >= len(pairs):
        raise DataError(f"{len(pairs)} pairs leave none to train on with val_fraction={val_fraction}")
    results: dict[str, Any] = {}
    for entry in styles:
        style = get_style(entry) if isinstance(entry, str) else entry
        dataset, dropped = tokenize_pairs(pairs, style, tokenizer).fit(allowed_max_length, truncation_mode,
                                                                       drop_overlong=True)
        record = dataset.examples.positions[0::2] // 2
        train_part, val_part = (dataset.select(np.flatnonzero(record < len(pairs) - held_out)),
                                dataset.select(np.flatnonzero(record >= len(pairs) - held_out)))
        if not len(train_part) or not len(val_part):
            raise DataError(f"style {style.name!r}: no pairs left to train or score after dropping {dropped} too "
                            f"long for allowed_max_length={allowed_max_length}")
        collator = PairCollator(pad_token_id=tokenizer.eos_id, allowed_max_length=allowed_max_length,
                                truncation_mode=truncation_mode)
        model = make_model(tokenizer.vocab_size)
        reference = copy.deepcopy(model)
        losses = train_dpo(model, _loader(train_part, collator, batch_size, config.seed), config, beta=beta,
                           reference=reference)
        scored = evaluate_dpo(model, reference, _loader(val_part, collator, batch_size, None), beta=beta,
                              device=config.device)
        margins = np.asarray(scored.margins)
        results[style.name] = {
            "reward_margin": scored.reward_margin, "reward_accuracy": scored.reward_accuracy, "loss": scored.loss,
            "train_loss": losses, "dropped": dropped,
            "val_examples": {"records": (val_part.examples.positions[0::2] // 2).tolist(),
                             "margin": margins.tolist(), "correct": (margins > 0).astype(float).tolist()},
        }
        logger.info("%s: DPO reward margin %.4f, accuracy %.2f", style.name, scored.reward_margin,
                    scored.reward_accuracy)
    return rank_by_margin(results)


def rank_by_margin(results: dict[str, Any]) -> dict[str, Any]:
    """The best style by held-out reward margin, and each other style's paired bootstrap intervals against it
    (margin and accuracy over the pairs both scored), added to its result as ``paired``."""
    best = max(results, key=lambda name: results[name]["reward_margin"])
    for name, result in results.items():
        if name != best:
            result["paired"] = {metric: paired_bootstrap(result["val_examples"], results[best]["val_examples"],
                                                         value=metric, weight=None)
                                for metric in ("margin", "correct")}
    return {"best": best, "styles": results}


def dpo_report(results: dict[str, Any]) -> str:
    """The comparison as a Markdown table: reward margin and accuracy per style, paired against the best."""
    lines = ["| style | reward margin | reward accuracy | DPO loss | margin vs best (95% paired interval) |",
             "|---|---|---|---|---|"]
    for name, result in sorted(results["styles"].items(), key=lambda item: -item[1]["reward_margin"]):
        interval = result.get("paired", {}).get("margin")
        against = "best" if name == results["best"] else (
            "no shared pairs" if interval is None else
            f"{interval['difference']:+.4f} [{interval['low']:+.4f}, {interval['high']:+.4f}]")
        lines.append(f"| {name} | {result['reward_margin']:.4f} | {result['reward_accuracy']:.1%} | "
                     f"{result['loss']:.4f} | {against} |")
    return "\n".join(lines) + "\n"
