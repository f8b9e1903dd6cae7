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
                       "val_response_loss": 2.31, "val_loss": 2.05, "steps": 60, "seconds": 41.0,
                       "val_examples": {"records": [51, ...], "nll": [...], "tokens": [...]}},
          "generation": {"token_f1": 0.21, "rouge_l": 0.18, "n": 10, "empty": 0, "stop_rate": 0.8,
                         "leak_rate": 0.1, "cut": 2, "leak_markers": {"### Instruction:": 1},
                         "words_mean": 14.2, "reference_words_mean": 12.0, "length_ratio": 1.18,
                         "examples": {"records": [55, ...], "ended": [1, ...], "leaked": [0, ...],
                                      "token_f1": [...], "rouge_l": [...], "words": [...],
                                      "reference_words": [...]}}
        },
        ...
      }
    }

Every section and key is optional; a table shows the columns some style has. ``relative_compute``
(compute tokens over the cheapest style's) is derived here, so results from separate runs stay mergeable.
The report leads with the verdict (:mod:`promptstyles.experiments.verdict`): the best style on the headline
metric and by how much, or "no detectable difference" when the margin is within the measured noise. Then
come warnings per style (:mod:`promptstyles.experiments.cautions`) and each style's paired differences
from the best run (:mod:`promptstyles.experiments.differences`), both derived here from the per-example
columns, so merged results get them too. A run whose answered records declare tools also has a ``tool_calls``
section, shown as a table of its own (:mod:`promptstyles.experiments.tool_calls`).
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
from .cautions import style_warnings
from .differences import paired_differences
from .ranking import (
    DEFAULT_HEADLINE,
    LABELS,
    STATIC_COLUMNS,
    STATIC_HEADLINE,
    TRAINING_COLUMNS,
    flat_rows,
    metric_label,
    number,
    rank_styles,
    ranked_rows,
)
from .tool_calls import tool_call_section
from .verdict import generation_notes, verdict

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


def _format(value: Any, spec: str) -> str:
    figure = number(value)
    if figure is None:
        return "" if value is None else str(value)
    return spec.format(figure)


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], ranks: Mapping[str, int]) -> list[str]:
    columns = [c for c in columns if any(c in row for row in rows)]
    if not columns:
        return []
    headers = ["rank", "style", *(metric_label(c) for c in columns)]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(["---:", "---", *["---:"] * len(columns)]) + "|"]
    for row in rows:
        cells = [str(ranks.get(row["style"], "")), row["style"]]
        cells += [_format(row.get(c), LABELS.get(c, ("", "{:.1f}"))[1]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _ranks(ranked: Sequence[tuple[str, float]]) -> dict[str, int]:
    return {style: place for place, (style, _) in enumerate(ranked, start=1)}


def _paired_table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each style's paired difference from the best run, per metric, with its interval and finding."""
    if not rows:
        return []
    level = next((row["level"] for row in rows if "level" in row), 0.95)
    lines = [f"## Paired differences against {rows[0]['best']}", "",
             f"Each style minus {rows[0]['best']} on the same examples, with a {level:.0%} paired bootstrap interval;"
             " the loss also against the spread over seeds.", "",
             f"| style | metric | difference | {level:.0%} interval | ± seeds | examples | finding |",
             "|---|---|---:|---:|---:|---:|---|"]
    for row in rows:
        cells = [row["style"], row["label"], _format(row.get("difference"), "{:+.3g}"),
                 "" if "low" not in row else f"[{row['low']:+.3g}, {row['high']:+.3g}]",
                 _format(row.get("spread"), "{:.3g}"), _format(row.get("examples"), "{:.0f}"), row["finding"]]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def render_markdown(results: Mapping[str, Any], *, plots: Mapping[str, str] | None = None) -> str:
    """The report: verdict (and whether generation measured anything), warnings per style, notes, paired
    differences against the best run, fine-tuning table (best first), static table, plots, settings.

    The static table is ranked by its own figure, tokens per example (fewer first), since a style that
    costs fewer tokens is not thereby the one that learns best. ``plots`` maps a caption to an image path
    relative to the report.
    """
    headline, ranked, rows = ranked_rows(results)
    lines = ["# Prompt style comparison", "", verdict(results), ""]
    lines += [line for note in generation_notes(results) for line in (note, "")]
    warnings = style_warnings(results)
    if warnings:
        lines += ["## Warnings", "", *(f"- {line}" for line in warnings), ""]
    lines += [line for note in results.get("notes") or () for line in (note, "")]
    lines += [f"Headline metric: {metric_label(headline['metric'])}"
              f" ({'lower' if headline.get('lower_is_better', True) else 'higher'} is better).", ""]
    lines += _paired_table(paired_differences(results))
    table = _table(rows, TRAINING_COLUMNS, _ranks(ranked))
    if table:
        lines += ["## Fine-tuning", "", *table, ""]
    lines += tool_call_section(results)
    static = rank_styles(results, headline=STATIC_HEADLINE)[1]
    order = {style: position for position, (style, _) in enumerate(static)}
    table = _table(sorted(rows, key=lambda row: order.get(row["style"], len(order))), STATIC_COLUMNS, _ranks(static))
    if table:
        ranked_by = metric_label(str(STATIC_HEADLINE["metric"]))
        lines += ["## Static comparison", "", f"Ranked by {ranked_by} (fewer first).", "", *table, ""]
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
    """Write ``report.md``, ``results.json`` and ``results.csv`` into ``folder``, each atomically.

    A CSV row also holds the style's paired differences from the best run, ``vs_best.<metric>.difference``,
    ``.low``, ``.high`` and ``.finding``.
    """
    folder = Path(folder)
    _, _, rows = ranked_rows(results)
    by_style = {row["style"]: row for row in rows}
    for difference in paired_differences(results):  # the CSV carries each style's paired differences too
        prefix = f"vs_best.{difference['metric']}"
        by_style[difference["style"]].update({f"{prefix}.{key}": difference.get(key)
                                              for key in ("difference", "low", "high", "finding")})
    paths = {
        "json": write_json(folder / "results.json", results),
        "csv": folder / "results.csv",
        "markdown": folder / "report.md",
    }
    atomic_write_bytes(paths["csv"], _csv_text(rows).encode("utf-8"))
    atomic_write_bytes(paths["markdown"], render_markdown(results, plots=plots).encode("utf-8"))
    logger.info("wrote the report to %s", folder)
    return paths
