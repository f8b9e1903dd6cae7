"""The report's first sentence: which style is best, and whether the data can tell.

A margin is only a finding when it is larger than the noise measured with it. Two kinds of noise are
measured: which validation examples happened to be drawn (a paired bootstrap over the examples every run
scored, :mod:`promptstyles.experiments.paired`), and training randomness (the spread over seeds when an
experiment has several). A winner is named only when the bootstrap interval of the difference excludes
zero and the margin exceeds the seeds' spread; otherwise the verdict says there is no detectable
difference. The verdict reads the finding of the paired-differences table's runner-up row, and shows its
interval with the table's sign (the runner-up minus the best), so the two never disagree. A comparison
whose generated answers score nothing says so, so its zeros are not read as
a ranking.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .differences import NO_DIFFERENCE, paired_differences
from .paired import paired_bootstrap
from .ranking import lookup, metric_label, number, rank_styles

__all__ = ["CLOSE_MARGIN", "generation_notes", "verdict"]

CLOSE_MARGIN = 0.02
"""Without any measured noise, relative margins below this are reported as too close to call."""


def _interval(results: Mapping[str, Any], best: str, second: str, metric: str) -> dict[str, Any] | None:
    """The paired bootstrap of ``best - second`` on the headline loss, when both runs kept per-example losses."""
    if metric != "training.val_response_loss":
        return None
    first, other = (lookup(results, style, "training.val_examples") for style in (best, second))
    if not isinstance(first, Mapping) or not isinstance(other, Mapping):
        return None
    return paired_bootstrap(first, other)


def _spreads(results: Mapping[str, Any], best: str, second: str, metric: str) -> tuple[float, float] | None:
    spreads = [number(lookup(results, style, metric + "_std")) for style in (best, second)]
    return (spreads[0], spreads[1]) if spreads[0] is not None and spreads[1] is not None else None


def verdict(results: Mapping[str, Any]) -> str:
    """The best style on the headline metric, its margin over the runner-up, and whether the margin is
    larger than the measured noise ("no detectable difference" when it is not)."""
    headline, ranked = rank_styles(results)
    label = metric_label(headline["metric"])
    if not ranked:
        return "No style has results yet."
    best, value = ranked[0]
    if len(ranked) == 1:
        return f"Only **{best}** has results: {label} {value:.4g}."
    tied = [name for name, score in ranked[1:] if score == value]
    rest = [(name, score) for name, score in ranked[1:] if score != value]
    prefix = _exact_tie(results, best, tied, label, value, headline["metric"]) if tied else ""
    if not rest:
        return prefix
    second, other = rest[0]
    shown = " / ".join(f"**{name}**" for name in [best, *tied])
    weighed = _weighed(results, headline, label, (best, shown), value, second, other)
    return f"{prefix} Against the next run: {weighed[0].lower()}{weighed[1:]}" if prefix else weighed


def _exact_tie(results: Mapping[str, Any], best: str, tied: list[str], label: str, value: float, metric: str) -> str:
    """Runs with the very same score as the best: said once, with whether every example scored the same."""
    names = " and ".join(f"**{name}**" for name in [best, *tied])
    intervals = [_interval(results, best, name, metric) for name in tied]
    same = all(i is not None and i["low"] == i["high"] == 0 for i in intervals)
    why = " (every validation example scores the same: they trained on the same token ids)" if same else ""
    return f"{names} tie exactly on {label} at {value:.4g}{why}."


def _runner_up_row(results: Mapping[str, Any], second: str, metric: str) -> Mapping[str, Any] | None:
    """The table's row of ``second`` against the best run on the headline metric: the finding both share."""
    rows = [row for row in paired_differences(results) if row["style"] == second and row["metric"] == metric]
    return rows[0] if rows and "finding" in rows[0] and "low" in rows[0] else None


def _clauses(row: Mapping[str, Any] | None, spreads: tuple[float, float] | None, beyond: bool | None,
             names: tuple[str, str], seeds: int) -> list[tuple[str, bool]]:
    """What was weighed, each clause with whether it supports a difference: the paired interval (of the
    runner-up minus the best, as the table shows it) and the spread over seeds."""
    best, second = names
    clauses = []
    if row is not None:
        clauses.append((f"the {row['level']:.0%} paired bootstrap interval of {second} minus {best} over the same"
                        f" {row['examples']} validation examples, [{row['low']:+.3g}, {row['high']:+.3g}],"
                        f" {'excludes' if row['excludes_zero'] else 'holds'} zero", bool(row["excludes_zero"])))
    if spreads is not None and beyond is not None:
        clauses.append((f"the margin {'exceeds' if beyond else 'is within'} the spread over {seeds} seeds"
                        f" (±{spreads[0]:.3g} and ±{spreads[1]:.3g})", beyond))
    return clauses


def _joined(clauses: list[str]) -> str:
    return ", and ".join(clauses)


def _weighed(results: Mapping[str, Any], headline: Mapping[str, Any], label: str, named: tuple[str, str],
             value: float, second: str, other: float) -> str:
    """The best run (its name, and how to show it) against a runner-up with another score: a winner only when
    the margin beats the noise, on the same finding as the paired-differences table."""
    best, shown = named
    margin = abs(other - value)
    relative = f" ({margin / abs(other):.1%})" if other else ""
    row = _runner_up_row(results, second, headline["metric"])
    spreads = _spreads(results, best, second, headline["metric"])
    beyond = row["beyond_spread"] if row is not None else (margin >= sum(spreads) if spreads else None)
    seeds = len(lookup(results, best, "training.seeds") or ())
    clauses = _clauses(row, spreads, beyond, (best, second), seeds)
    detected = row["finding"] != NO_DIFFERENCE if row is not None else bool(beyond)
    if clauses and not detected:
        support = [text for text, supports in clauses if supports]
        against = [text for text, supports in clauses if not supports]
        reason = f"{_joined(support)}, but {_joined(against)}" if support else _joined(against)
        return (f"No detectable difference on {label}: {shown} ({value:.4g}) and **{second}** ({other:.4g}) are"
                f" {margin:.4g}{relative} apart; {reason}. Read it as a tie; more validation records, a longer"
                " run or more seeds can separate them.")
    direction = "lower" if headline.get("lower_is_better", True) else "higher"
    sentence = (f"{shown} is best on {label}: {value:.4g}, {margin:.4g} {direction}{relative} than the"
                f" runner-up **{second}** ({other:.4g}).")
    if clauses:
        return f"{sentence} The difference is larger than the measured noise: {_joined([c for c, _ in clauses])}."
    if other and margin / abs(other) < CLOSE_MARGIN:
        return (f"{sentence} A margin under {CLOSE_MARGIN:.0%} is within what another seed or a longer run can"
                " change: read it as a tie until more training or several seeds confirm it.")
    return f"{sentence} No noise was measured (one seed, no per-example losses), so the margin is unweighed."


def generation_notes(results: Mapping[str, Any]) -> list[str]:
    """Say plainly when generation measured nothing: every score zero, or every response empty."""
    scored = {style: sections["generation"] for style, sections in results.get("styles", {}).items()
              if isinstance(sections.get("generation"), Mapping) and sections["generation"].get("n")}
    nothing = [style for style, g in scored.items() if not g.get("token_f1") and not g.get("rouge_l")]
    if not nothing:
        return []
    empty = sum(int(scored[style].get("empty") or 0) for style in nothing)
    total = sum(int(scored[style]["n"]) for style in nothing)
    what = ("every response is empty" if empty == total else f"{empty} of {total} responses are empty") + (
        " once the style's markup is cut away" if empty else "")
    if len(nothing) == len(scored):
        return [f"Generation measured nothing: token F1 and ROUGE-L are 0 for every style ({what}); the model"
                " does not yet answer at this budget, so the generation columns rank nothing."]
    return [f"Generation measured nothing for {', '.join(nothing)}: token F1 and ROUGE-L are 0 ({what})."]
