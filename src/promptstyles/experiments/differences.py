"""Every style against the best run, metric by metric: paired differences with bootstrap intervals.

Runs are scored on the same examples (the validation split for the loss, the first test records for the
generated responses), so each style is compared with the best run example by example
(:func:`~promptstyles.experiments.paired.paired_bootstrap`). A difference is a finding only when its
interval excludes zero and, for the loss, when it exceeds the spread over seeds; otherwise the row says
"no detectable difference". A metric that measured nothing for both runs (every score zero, every
answer empty) says so and takes no side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .paired import bootstrap_interval, paired_bootstrap
from .ranking import lookup, number, rank_styles

__all__ = [
    "GENERATION_PLOTTED",
    "METRICS",
    "NOTHING",
    "NO_DIFFERENCE",
    "PairedMetric",
    "excludes_zero",
    "metric_intervals",
    "paired_differences",
]

NO_DIFFERENCE = "no detectable difference"
NOTHING = "measured nothing"


@dataclass(frozen=True)
class PairedMetric:
    """A metric kept per example: where its columns live and which way is better (None: neither)."""

    key: str
    label: str
    examples: str
    value: str
    weight: str | None = None
    lower_is_better: bool | None = None
    zero_is_nothing: bool = False
    """All-zero values mean the metric saw nothing to score (no answer), not a score of zero."""


METRICS = (
    PairedMetric("training.val_response_loss", "val loss, response text", "training.val_examples", "nll",
                 "tokens", lower_is_better=True),
    PairedMetric("generation.stop_rate", "stop rate", "generation.examples", "ended", lower_is_better=False),
    PairedMetric("generation.leak_rate", "leak rate", "generation.examples", "leaked", lower_is_better=True),
    PairedMetric("generation.token_f1", "token F1", "generation.examples", "token_f1", lower_is_better=False,
                 zero_is_nothing=True),
    PairedMetric("generation.rouge_l", "ROUGE-L", "generation.examples", "rouge_l", lower_is_better=False,
                 zero_is_nothing=True),
    PairedMetric("generation.length_ratio", "length / reference", "generation.examples", "words",
                 "reference_words", zero_is_nothing=True),
    PairedMetric("tool_calls.parsed_share", "tool calls parsed", "tool_calls.examples", "parsed", "generated",
                 lower_is_better=False),
    PairedMetric("tool_calls.declared_share", "tool calls naming a declared tool", "tool_calls.examples", "declared",
                 "generated", lower_is_better=False),
)

GENERATION_PLOTTED = ("generation.stop_rate", "generation.leak_rate", "generation.length_ratio")
"""The generation metrics drawn in the report's plot, each with its interval."""


def _columns(results: Mapping[str, Any], style: str, metric: PairedMetric) -> Mapping[str, Sequence[float]] | None:
    columns = lookup(results, style, metric.examples)
    return columns if isinstance(columns, Mapping) and metric.value in columns else None


def _blank(columns: Mapping[str, Sequence[float]], metric: PairedMetric) -> bool:
    return metric.zero_is_nothing and not any(columns[metric.value])


def _finding(metric: PairedMetric, interval: Mapping[str, Any], beyond_spread: bool | None, best: str) -> str:
    """The one finding of a style against the best run on a metric: what the report's table and verdict both say."""
    difference = interval["difference"]
    if not excludes_zero(interval) or beyond_spread is False:
        return NO_DIFFERENCE
    if metric.lower_is_better is None:
        return f"{'higher' if difference > 0 else 'lower'} than {best}"
    return f"{'worse' if (difference > 0) == metric.lower_is_better else 'better'} than {best}"


def excludes_zero(interval: Mapping[str, Any]) -> bool:
    """An interval with a bound at exactly zero holds zero: only one strictly on one side excludes it."""
    return bool(interval["low"] > 0 or interval["high"] < 0)


def _margin(results: Mapping[str, Any], style: str, best: str, key: str) -> float | None:
    """The difference of the two runs' reported values (means over seeds when there are seeds)."""
    values = [number(lookup(results, name, key)) for name in (style, best)]
    return abs(values[0] - values[1]) if values[0] is not None and values[1] is not None else None


def paired_differences(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per other style and metric: ``style``, ``metric``, ``label``, ``difference`` (style minus
    best, per example, with its interval ``low``, ``high`` over ``examples``), ``spread`` (the seeds' spreads
    added), ``margin`` (the reported values' difference), ``excludes_zero``, ``beyond_spread`` (None without
    seeds) and ``finding``. Empty when no style is ranked; rows only for metrics both runs kept per example.
    The verdict reads its runner-up's row, so the headline and the table never disagree."""
    ranked = rank_styles(results)[1]
    if not ranked:
        return []
    best = ranked[0][0]
    rows = []
    for style in (name for name in results.get("styles", {}) if name != best):
        for metric in METRICS:
            theirs, ours = _columns(results, style, metric), _columns(results, best, metric)
            if theirs is None or ours is None:
                continue
            row: dict[str, Any] = {"style": style, "metric": metric.key, "label": metric.label, "best": best}
            spreads = [number(lookup(results, name, metric.key + "_std")) for name in (style, best)]
            spread = spreads[0] + spreads[1] if spreads[0] is not None and spreads[1] is not None else None
            if _blank(theirs, metric) and _blank(ours, metric):
                rows.append(row | {"finding": NOTHING})
                continue
            interval = paired_bootstrap(theirs, ours, value=metric.value, weight=metric.weight)
            if interval is None:
                continue
            margin = _margin(results, style, best, metric.key)
            beyond = None if spread is None or margin is None else margin >= spread
            rows.append(row | {key: interval[key] for key in ("difference", "low", "high", "level", "examples")}
                        | {"spread": spread, "margin": margin, "excludes_zero": excludes_zero(interval),
                           "beyond_spread": beyond, "finding": _finding(metric, interval, beyond, best)})
    return rows


def metric_intervals(results: Mapping[str, Any], keys: Sequence[str]) -> dict[str, dict[str, tuple[float, float]]]:
    """Per style, the bootstrap interval of each generation metric in ``keys`` (for the plot's error bars)."""
    chosen = [metric for metric in METRICS if metric.key in keys]
    intervals: dict[str, dict[str, tuple[float, float]]] = {}
    for style in results.get("styles", {}):
        for metric in chosen:
            columns = _columns(results, style, metric)
            if columns is None:
                continue
            weights = None if metric.weight is None else columns[metric.weight]
            interval = bootstrap_interval(columns[metric.value], weights)
            if interval is not None:
                intervals.setdefault(style, {})[metric.key] = interval
    return intervals
