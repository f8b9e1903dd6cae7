"""Ranking styles on a headline metric, from results as plain data (see :mod:`promptstyles.experiments.report`).

Shared by the verdict and the report's tables: one place decides which metric leads, how its columns are
labelled and formatted, and which style is best.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "DEFAULT_HEADLINE",
    "LABELS",
    "STATIC_COLUMNS",
    "STATIC_HEADLINE",
    "TRAINING_COLUMNS",
    "flat_rows",
    "lookup",
    "metric_label",
    "number",
    "rank_styles",
    "ranked_rows",
]

DEFAULT_HEADLINE = {"metric": "training.val_response_loss", "lower_is_better": True}
STATIC_HEADLINE = {"metric": "static.tokens_mean", "lower_is_better": True}

# Column key -> (header, format of its cells).
LABELS: dict[str, tuple[str, str]] = {
    "training.val_response_loss": ("val loss, response text", "{:.3f}"),
    "training.val_response_loss_std": ("± over seeds", "{:.3f}"),
    "training.val_loss": ("val loss, all supervised", "{:.3f}"),
    "generation.token_f1": ("token F1", "{:.3f}"),
    "generation.rouge_l": ("ROUGE-L", "{:.3f}"),
    "generation.stop_rate": ("stop rate", "{:.0%}"),
    "generation.leak_rate": ("leak rate", "{:.0%}"),
    "generation.words_mean": ("words/response", "{:.1f}"),
    "generation.length_ratio": ("length / reference", "{:.2f}"),
    "generation.n": ("responses scored", "{:.0f}"),
    "generation.empty": ("empty responses", "{:.0f}"),
    "training.steps": ("steps", "{:.0f}"),
    "training.seconds": ("seconds", "{:.1f}"),
    "static.examples": ("examples", "{:.0f}"),
    "static.tokens_mean": ("tokens/example mean", "{:.1f}"),
    "static.tokens_median": ("median", "{:.1f}"),
    "static.tokens_p95": ("p95", "{:.1f}"),
    "static.tokens_max": ("max", "{:.0f}"),
    "static.tokens_vs_first": ("vs first style", "{:+.1%}"),
    "static.template_overhead_mean": ("template overhead tokens", "{:.1f}"),
    "static.supervised_fraction": ("supervised", "{:.1%}"),
    "static.truncated": ("truncated", "{:.0f}"),
    "static.padding_fraction": ("padding", "{:.1%}"),
    "static.relative_compute": ("relative compute", "{:.2f}x"),
}
TRAINING_COLUMNS = [k for k in LABELS if k.startswith(("training.", "generation."))]
STATIC_COLUMNS = [k for k in LABELS if k.startswith("static.")]


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def lookup(results: Mapping[str, Any], style: str, metric: str) -> Any:
    """``results["styles"][style][section][key]`` for ``metric = "section.key"``, or None."""
    section, _, key = metric.partition(".")
    values = results.get("styles", {}).get(style, {}).get(section)
    return values.get(key) if isinstance(values, Mapping) else None


def flat_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat row per style: ``style`` then ``section.key`` scalars (lists such as curves left out).

    Adds ``static.relative_compute`` when styles report ``static.compute_tokens``.
    """
    rows = []
    for style, sections in results.get("styles", {}).items():
        row: dict[str, Any] = {"style": style}
        for section, values in sections.items():
            if isinstance(values, Mapping):
                for key, value in values.items():
                    if not isinstance(value, (Mapping, list, tuple)):
                        row[f"{section}.{key}"] = value
        rows.append(row)
    costs = [number(row.get("static.compute_tokens")) for row in rows]
    cheapest = min((c for c in costs if c), default=None)
    if cheapest:
        for row, cost in zip(rows, costs, strict=True):
            if cost is not None:
                row["static.relative_compute"] = cost / cheapest
    return rows


def _headline(results: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    headline = dict(results.get("headline") or DEFAULT_HEADLINE)
    if not any(number(row.get(headline["metric"])) is not None for row in rows):
        headline = dict(STATIC_HEADLINE)
    return headline


def rank_styles(
    results: Mapping[str, Any], *, headline: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], list[tuple[str, float]]]:
    """The headline used and ``(style, value)`` best first; styles without the metric are left out.

    The headline is ``headline``, else ``results["headline"]`` (validation loss on response text by
    default); when no style has it (no training yet), styles are ranked by mean tokens per example.
    """
    rows = flat_rows(results)
    headline = _headline({"headline": headline} if headline else results, rows)
    scored = [(row["style"], number(row.get(headline["metric"]))) for row in rows]
    ranked = [(style, value) for style, value in scored if value is not None]
    ranked.sort(key=lambda item: item[1], reverse=not headline.get("lower_is_better", True))
    return headline, ranked


def ranked_rows(results: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, float]], list[dict[str, Any]]]:
    """The headline, the ranking, and the flat rows best first (styles without the metric last)."""
    headline, ranked = rank_styles(results)
    order = {style: position for position, (style, _) in enumerate(ranked)}
    rows = sorted(flat_rows(results), key=lambda row: order.get(row["style"], len(order)))
    return headline, ranked, rows


def metric_label(metric: str) -> str:
    return LABELS.get(metric, (metric, ""))[0]

