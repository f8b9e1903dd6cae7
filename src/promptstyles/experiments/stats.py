"""Static statistics of a style on a dataset: what a style costs before any training.

Inputs are counts the data engine measures (per example, and per real batch), so nothing here repeats
the engine's tokenizing, truncation or padding rules; this module only summarises them into the
``static`` section of a style's results (see :mod:`promptstyles.experiments.report`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["length_summary", "static_stats"]


def length_summary(lengths: Sequence[int]) -> dict[str, float]:
    """Mean, median, 95th percentile (linear interpolation) and maximum of token counts."""
    if not len(lengths):
        return {"tokens_mean": 0.0, "tokens_median": 0.0, "tokens_p95": 0.0, "tokens_max": 0}
    values = np.asarray(lengths, dtype=np.float64)
    return {
        "tokens_mean": float(values.mean()),
        "tokens_median": float(np.median(values)),
        "tokens_p95": float(np.percentile(values, 95)),
        "tokens_max": int(values.max()),
    }


def static_stats(
    lengths: Sequence[int],
    bare_lengths: Sequence[int],
    supervised: Sequence[int],
    batches: Sequence[tuple[int, int, int]],
    *,
    max_length: int | None = None,
) -> dict[str, Any]:
    """The ``static`` results of one style.

    - ``lengths``: tokens of each rendered example, before truncation.
    - ``bare_lengths``: tokens of the same record's own text alone (instruction, input, output), so the
      difference is what the template adds (``template_overhead_mean``).
    - ``supervised``: trained targets of each example under the chosen mask, after truncation;
      ``supervised_fraction`` divides their sum by the tokens kept after truncation.
    - ``batches``: ``(batch size, padded length, real tokens)`` of each training batch of one epoch;
      ``padding_fraction`` is the share of batch positions that are padding, and ``compute_tokens`` the
      sum of batch size times padded length (what a forward pass pays for).
    """
    if not len(lengths) == len(bare_lengths) == len(supervised):
        raise ValueError(
            f"per-example counts differ in length: {len(lengths)} lengths, {len(bare_lengths)} bare lengths,"
            f" {len(supervised)} supervised counts"
        )
    kept = [length if max_length is None else min(length, max_length) for length in lengths]
    positions = sum(size * padded for size, padded, _ in batches)
    real = sum(tokens for _, _, tokens in batches)
    count = len(lengths)
    return {
        "examples": count,
        **length_summary(lengths),
        "template_overhead_mean": (sum(lengths) - sum(bare_lengths)) / count if count else 0.0,
        "supervised_fraction": sum(supervised) / sum(kept) if sum(kept) else 0.0,
        "truncated": sum(1 for length in lengths if max_length is not None and length > max_length),
        "padding_fraction": 1.0 - real / positions if positions else 0.0,
        "compute_tokens": positions,
    }
