"""The comparison's written results: ``report.md`` for people, ``results.json`` and ``results.csv`` for tools.

Results are plain data, one dict per style, so a notebook can build, read or merge them without this
package::

    {
      "headline": {"metric": "training.val_response_loss", "lower_is_better": true},   # optional
      "settings": {...},                    # optional, free-form: model, budget, seed, data
      "notes": ["..."],                     # optional sentences shown under the verdict
      "styles": {
        "alpaca": {
          "static": {"examples": 60, "tokens_mean": 81.2, "tokens_median": 79.0, "tokens_p95": 118.0,
                     "tokens_max": 140, "template_overhead_mean": 38.4, "supervised_fraction": 0.31,
                     "truncated": 0, "padding_fraction": 0.22, "compute_tokens": 5120},
          "training": {"curve": {"step": [...], "train_loss": [...], "val_loss": [...],
                                 "val_response_loss": [...]},
                       "val_response_loss": 2.31, "val_loss": 2.05, "steps": 60, "seconds": 41.0},
          "generation": {"token_f1": 0.21, "rouge_l": 0.18, "n": 10}
        },
        ...
      }
    }

Every section and key is optional; a table shows the columns some style has. ``relative_compute``
(compute tokens over the cheapest style's) is derived here, so results from separate runs stay mergeable.
The report leads with the verdict: the best style on the headline metric and by how much.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._io import atomic_write_bytes

__all__ = [
    "DEFAULT_HEADLINE",
    "flat_rows",
    "rank_styles",
    "render_markdown",
    "verdict",
    "write_json",
    "write_report",
]

logger = logging.getLogger(__name__)

DEFAULT_HEADLINE = {"metric": "training.val_response_loss", "lower_is_better": True}
STATIC_HEADLINE = {"metric": "static.tokens_mean", "lower_is_better": True}

# Column key -> (header, format of its cells).
LABELS: dict[str, tuple[str, str]] = {
    "training.val_response_loss": ("val loss, response text", "{:.3f}"),
    "training.val_response_loss_std": ("± over seeds", "{:.3f}"),
    "training.val_loss": ("val loss, all supervised", "{:.3f}"),
    "generation.token_f1": ("token F1", "{:.3f}"),
    "generation.rouge_l": ("ROUGE-L", "{:.3f}"),
    "generation.n": ("responses scored", "{:.0f}"),
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


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def _lookup(results: Mapping[str, Any], style: str, metric: str) -> Any:
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
    costs = [_number(row.get("static.compute_tokens")) for row in rows]
    cheapest = min((c for c in costs if c), default=None)
    if cheapest:
        for row, cost in zip(rows, costs, strict=True):
            if cost is not None:
                row["static.relative_compute"] = cost / cheapest
    return rows


def _headline(results: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    headline = dict(results.get("headline") or DEFAULT_HEADLINE)
    if not any(_number(row.get(headline["metric"])) is not None for row in rows):
        headline = dict(STATIC_HEADLINE)
    return headline


def rank_styles(results: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, float]]]:
    """The headline used and ``(style, value)`` best first; styles without the metric are left out.

    The headline is ``results["headline"]`` (validation loss on response text by default); when no
    style has it (no training yet), styles are ranked by mean tokens per example instead.
    """
    rows = flat_rows(results)
    headline = _headline(results, rows)
    scored = [(row["style"], _number(row.get(headline["metric"]))) for row in rows]
    ranked = [(style, value) for style, value in scored if value is not None]
    ranked.sort(key=lambda item: item[1], reverse=not headline.get("lower_is_better", True))
    return headline, ranked


def _ranked_rows(results: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, float]], list[dict[str, Any]]]:
    """The headline, the ranking, and the flat rows best first (styles without the metric last)."""
    headline, ranked = rank_styles(results)
    order = {style: position for position, (style, _) in enumerate(ranked)}
    rows = sorted(flat_rows(results), key=lambda row: order.get(row["style"], len(order)))
    return headline, ranked, rows


def _label(metric: str) -> str:
    return LABELS.get(metric, (metric, ""))[0]


CLOSE_MARGIN = 0.02
"""Relative margins below this are reported as too close to call."""


def verdict(results: Mapping[str, Any]) -> str:
    """One sentence: the best style on the headline metric and its margin over the runner-up."""
    headline, ranked = rank_styles(results)
    label = _label(headline["metric"])
    if not ranked:
        return "No style has results yet."
    best, value = ranked[0]
    if len(ranked) == 1:
        return f"Only **{best}** has results: {label} {value:.4g}."
    second, other = ranked[1]
    margin = abs(other - value)
    relative = f" ({margin / abs(other):.1%})" if other else ""
    direction = "lower" if headline.get("lower_is_better", True) else "higher"
    if margin == 0:
        return f"**{best}** and **{second}** tie on {label} at {value:.4g}."
    sentence = (
        f"**{best}** is best on {label}: {value:.4g}, {margin:.4g} {direction}{relative} than the runner-up"
        f" **{second}** ({other:.4g})."
    )
    spreads = [_number(_lookup(results, style, headline["metric"] + "_std")) for style in (best, second)]
    if all(spread is not None for spread in spreads):
        count = len(_lookup(results, best, "training.seeds") or ())
        if margin < sum(s for s in spreads if s is not None):
            sentence += (f" The margin is within the spread over {count} seeds (±{spreads[0]:.3g} and"
                         f" ±{spreads[1]:.3g}): read it as a tie.")
        else:
            sentence += f" The margin exceeds the spread over {count} seeds (±{spreads[0]:.3g} and ±{spreads[1]:.3g})."
    elif other and margin / abs(other) < CLOSE_MARGIN:
        sentence += (f" A margin under {CLOSE_MARGIN:.0%} is within what another seed or a longer run can change:"
                     " read it as a tie until more training or several seeds confirm it.")
    return sentence


def _format(value: Any, spec: str) -> str:
    number = _number(value)
    if number is None:
        return "" if value is None else str(value)
    return spec.format(number)


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], ranks: Mapping[str, int]) -> list[str]:
    columns = [c for c in columns if any(c in row for row in rows)]
    if not columns:
        return []
    headers = ["rank", "style", *(_label(c) for c in columns)]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(["---:", "---", *["---:"] * len(columns)]) + "|"]
    for row in rows:
        cells = [str(ranks.get(row["style"], "")), row["style"]]
        cells += [_format(row.get(c), LABELS.get(c, ("", "{:.1f}"))[1]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render_markdown(results: Mapping[str, Any], *, plots: Mapping[str, str] | None = None) -> str:
    """The report: verdict, notes, fine-tuning table, static table (rows best first), plots, settings.

    ``plots`` maps a caption to an image path relative to the report.
    """
    headline, ranked, rows = _ranked_rows(results)
    ranks = {style: number for number, (style, _) in enumerate(ranked, start=1)}
    lines = ["# Prompt style comparison", "", verdict(results), ""]
    lines += [line for note in results.get("notes") or () for line in (note, "")]
    lines += [f"Headline metric: {_label(headline['metric'])}"
              f" ({'lower' if headline.get('lower_is_better', True) else 'higher'} is better).", ""]
    for title, columns in (("Fine-tuning", TRAINING_COLUMNS), ("Static comparison", STATIC_COLUMNS)):
        table = _table(rows, columns, ranks)
        if table:
            lines += [f"## {title}", "", *table, ""]
    if plots:
        lines += ["## Plots", ""]
        lines += [f"![{caption}]({path})" for caption, path in plots.items()]
        lines.append("")
    if results.get("settings"):
        lines += ["## Settings", "", "```json", json.dumps(_plain(results["settings"]), indent=2), "```", ""]
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    """JSON-safe data: NaN and infinities become null, tuples lists, paths strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as strict JSON (NaN as null), atomically; returns the path."""
    target = Path(path)
    text = json.dumps(_plain(data), indent=2, ensure_ascii=False, allow_nan=False)
    atomic_write_bytes(target, (text + "\n").encode("utf-8"))
    return target


def _csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _plain(v) for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def write_report(
    results: Mapping[str, Any], folder: str | os.PathLike[str], *, plots: Mapping[str, str] | None = None
) -> dict[str, Path]:
    """Write ``report.md``, ``results.json`` and ``results.csv`` into ``folder``, each atomically."""
    folder = Path(folder)
    _, _, rows = _ranked_rows(results)
    paths = {
        "json": write_json(folder / "results.json", results),
        "csv": folder / "results.csv",
        "markdown": folder / "report.md",
    }
    atomic_write_bytes(paths["csv"], _csv_text(rows).encode("utf-8"))
    atomic_write_bytes(paths["markdown"], render_markdown(results, plots=plots).encode("utf-8"))
    logger.info("wrote the report to %s", folder)
    return paths
