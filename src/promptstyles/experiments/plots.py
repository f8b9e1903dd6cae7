"""The comparison's pictures: loss curves, token lengths, padding and truncation, and generation metrics
(stop rate, leak rate, length against the reference) per style.

Figures are built with matplotlib's object API on the Agg canvas (no pyplot, so no global figure state
and no display needed), rendered to PNG bytes and written atomically, so an interrupted run never leaves
half an image. Sizes are fixed (``WIDTH`` x ``HEIGHT`` pixels) so reports lay out the same every time.
"""

from __future__ import annotations

import io
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from .._io import atomic_write_bytes

__all__ = [
    "HEIGHT",
    "WIDTH",
    "plot_generation_metrics",
    "plot_length_distributions",
    "plot_loss_curves",
    "plot_padding_truncation",
]

logger = logging.getLogger(__name__)

WIDTH, HEIGHT, DPI = 1000, 420, 100


def _figure(columns: int) -> tuple[Figure, list[Any]]:
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, columns, squeeze=False)[0]
    return figure, list(axes)


def _save(figure: Figure, path: str | os.PathLike[str]) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    target = Path(path)
    atomic_write_bytes(target, buffer.getvalue())
    logger.info("wrote %s", target)
    return target


def _points(steps: Sequence[int], values: Sequence[float | None]) -> tuple[list[int], list[float]]:
    pairs = [(s, v) for s, v in zip(steps, values, strict=False) if v is not None and not math.isnan(v)]
    return [s for s, _ in pairs], [v for _, v in pairs]


def _tick_options(labels: Sequence[str]) -> dict[str, Any]:
    """Slanted, smaller tick labels when the names would not fit side by side."""
    if sum(len(label) for label in labels) <= 60:
        return {}
    return {"rotation": 30, "ha": "right", "fontsize": "small"}


def plot_loss_curves(curves: Mapping[str, Mapping[str, Sequence[Any]]], path: str | os.PathLike[str]) -> Path:
    """Train loss (left) and validation loss on response text (right) against steps, one line per style.

    ``curves`` maps a style to a curve as :class:`~promptstyles.experiments.train.LossCurve` writes it
    (``step``, ``train_loss``, ``val_loss``, ``val_response_loss``); the all-supervised validation loss
    is drawn dashed next to the response-text one.
    """
    figure, (train_axes, val_axes) = _figure(2)
    for style, curve in curves.items():
        (line,) = train_axes.plot(*_points(curve["step"], curve["train_loss"]), marker="o", label=style)
        color = line.get_color()
        val_axes.plot(*_points(curve["step"], curve.get("val_response_loss", ())), marker="o", color=color)
        val_axes.plot(*_points(curve["step"], curve.get("val_loss", ())), linestyle="--", color=color)
    train_axes.set(title="Training loss", xlabel="step", ylabel="cross-entropy")
    val_axes.set(title="Validation loss", xlabel="step", ylabel="cross-entropy")
    for axes in (train_axes, val_axes):
        axes.grid(alpha=0.3)
    if train_axes.lines:
        # One legend of styles below both panels, and a key to the two line kinds in the validation panel.
        figure.legend(loc="outside lower center", ncols=min(len(curves), 5), fontsize="small")
        val_axes.legend([Line2D([], [], color="black", marker="o"), Line2D([], [], color="black", linestyle="--")],
                        ["response text", "all supervised"], fontsize="small")
    return _save(figure, path)


def plot_length_distributions(
    lengths: Mapping[str, Sequence[int]], path: str | os.PathLike[str], *, max_length: int | None = None
) -> Path:
    """Tokens per example, one box per style; a dotted line marks the truncation length when given."""
    figure, (axes,) = _figure(1)
    styles = list(lengths)
    axes.boxplot([list(lengths[s]) or [0] for s in styles], showmeans=True)
    axes.set_xticks(range(1, len(styles) + 1), styles, **_tick_options(styles))
    if max_length is not None:
        axes.axhline(max_length, linestyle=":", color="black", label=f"max length {max_length}")
        axes.legend(fontsize="small")
    axes.set(title="Tokens per example", ylabel="tokens")
    axes.grid(alpha=0.3, axis="y")
    return _save(figure, path)


def plot_padding_truncation(
    padding_fraction: Mapping[str, float], truncated: Mapping[str, int], path: str | os.PathLike[str]
) -> Path:
    """Two bar charts per style: the share of batch positions that are padding, and examples truncated."""
    figure, (pad_axes, cut_axes) = _figure(2)
    styles = list(padding_fraction)
    for axes in (pad_axes, cut_axes):
        axes.set_xticks(range(len(styles)), styles, **_tick_options(styles))
    bars = pad_axes.bar(range(len(styles)), [100 * padding_fraction[s] for s in styles], color="tab:blue")
    pad_axes.bar_label(bars, fmt="%.1f%%", fontsize="small")
    pad_axes.set(title="Padding", ylabel="% of batch positions")
    bars = cut_axes.bar(range(len(styles)), [truncated.get(s, 0) for s in styles], color="tab:red")
    cut_axes.bar_label(bars, fontsize="small")
    cut_axes.set(title="Truncated examples", ylabel="examples")
    cut_axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    cut_axes.set_ylim(0, 1.15 * max([1, *(truncated.get(s, 0) for s in styles)]))
    for axes in (pad_axes, cut_axes):
        axes.grid(alpha=0.3, axis="y")
    return _save(figure, path)


_GENERATION_PANELS = (
    ("generation.stop_rate", "Stops at its end marker", "share of responses", "tab:green"),
    ("generation.leak_rate", "Leaks markup or a new turn", "share of responses", "tab:red"),
    ("generation.length_ratio", "Length against the reference", "response words / reference words", "tab:blue"),
)


def plot_generation_metrics(
    generation: Mapping[str, Mapping[str, Any]],
    intervals: Mapping[str, Mapping[str, tuple[float, float]]],
    path: str | os.PathLike[str],
) -> Path:
    """Stop rate, leak rate and length ratio per style (three panels), each bar with its bootstrap interval.

    ``generation`` maps a style to its ``generation`` results; ``intervals`` maps a style to
    ``{"generation.<metric>": (low, high)}``. A style without a value gets no bar; a dotted line marks
    a length ratio of 1 (as long as the reference).
    """
    figure, panels = _figure(3)
    styles = list(generation)
    for axes, (key, title, ylabel, color) in zip(panels, _GENERATION_PANELS, strict=True):
        name = key.partition(".")[2]
        values = [generation[s].get(name) for s in styles]
        shown = [(i, float(v)) for i, v in enumerate(values) if isinstance(v, (int, float))]
        bars = axes.bar([i for i, _ in shown], [v for _, v in shown], color=color)
        errors = [intervals.get(styles[i], {}).get(key) for i, _ in shown]
        below = [v - e[0] if e else 0.0 for (_, v), e in zip(shown, errors, strict=True)]
        above = [e[1] - v if e else 0.0 for (_, v), e in zip(shown, errors, strict=True)]
        axes.errorbar([i for i, _ in shown], [v for _, v in shown], yerr=[below, above], fmt="none",
                      ecolor="black", capsize=4)
        axes.bar_label(bars, fmt="%.2f", fontsize="small", padding=2)
        if key == "generation.length_ratio":
            axes.axhline(1.0, linestyle=":", color="black")
        else:
            axes.set_ylim(0, 1.05)
        axes.set_xticks(range(len(styles)), styles, **_tick_options(styles))
        axes.set(title=title, ylabel=ylabel)
        axes.grid(alpha=0.3, axis="y")
    return _save(figure, path)
