"""Compare prompt styles: run an experiment and write its report, tables, plots and responses.

For each run (a style under a grid variant) the comparison measures the style's static costs, fine-tunes
the same initial model with the same budget, seed and data order, and generates responses to test
records. Each finished run is written at once to ``runs/<run>.json`` in the output folder, with
a fingerprint of everything that decides its numbers (records, tokens, split, style, tokenizer, collate,
loader, model, training, generation, seeds); a later call skips runs whose file holds the same
fingerprint, so an interrupted comparison resumes where it stopped. The folder then gets::

    report.md        verdict first (margin against measured noise), warnings per style, paired
                     differences against the best run, tables, plots and settings
    results.json     the results as plain data (see :mod:`promptstyles.experiments.report`), with the
                     report's ``warnings`` and ``paired`` differences
    results.csv      one row per run
    responses.json   the generated responses with their references and scores
    loss_curves.png, token_lengths.png, padding_truncation.png, generation_metrics.png
"""

from __future__ import annotations

import functools
import json
import logging
import os
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ..distributed import barrier, broadcast_object, is_main_process, local_device
from ..errors import ConfigError, UnknownMarkupError
from ..pipeline import PreparedData, build_dataloaders, prepare_data
from ..progress import default_progress
from ..styles.freeze import frozen
from .cautions import style_warnings
from .config import Experiment, Run, load_experiment
from .differences import GENERATION_PLOTTED, metric_intervals, paired_differences
from .dpo_runs import compare_dpo_runs
from .output import PLOTS, check_output, clear_output, prepare_output, run_file
from .plots import plot_generation_metrics, plot_length_distributions, plot_loss_curves, plot_padding_truncation
from .report import write_json, write_report
from .resume import read_run, run_fingerprint
from .runner import check_loaders, fine_tune, generate_responses, measure_static, model_factory
from .tool_calls import with_tool_calls

__all__ = ["CompareProgress", "compare", "default_experiment_path"]

logger = logging.getLogger(__name__)

Phase = Literal["static", "train", "generate", "resumed", "done"]


@dataclass(frozen=True)
class CompareProgress:
    """Handed to the progress callback: which run (1-based ``index`` of ``runs``), which phase, how far."""

    run: str
    index: int
    runs: int
    phase: Phase
    done: int = 0
    total: int = 0
    seed: int | None = None
    """The seed of the model training or generating (None without ``seeds``)."""


def default_experiment_path() -> Path:
    """The built-in experiment (alpaca, phi3 and chatml on the sample dataset); a YAML file to copy."""
    return Path(str(resources.files("promptstyles.experiments").joinpath("default.yaml")))


def _display_path(path: str) -> str:
    absolute = os.path.normpath(os.path.abspath(path))
    relative = os.path.relpath(absolute)
    return relative if not relative.startswith(os.pardir + os.sep + os.pardir) else absolute


def _compare_lengths(results: dict[str, Any], runs: list[Run]) -> list[str]:
    """``static.tokens_vs_first`` per run against the first style of its variant, and one line per variant."""
    notes = []
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(json.dumps(run.variant, sort_keys=True, default=str), []).append(run)
    for group in groups.values():
        first = results[group[0].label]["static"]
        parts = []
        for run in group:
            static = results[run.label]["static"]
            static["tokens_vs_first"] = static["tokens_mean"] / first["tokens_mean"] - 1.0
            if run is not group[0]:
                change = static["tokens_vs_first"]
                parts.append(f"{run.style.title} {abs(change):.1%} {'fewer' if change < 0 else 'more'}"
                             f" ({static['tokens_mean']:.1f})")
        if parts:
            where = group[0].label[len(group[0].style.title):].strip()
            notes.append((where, f"Tokens per example against {group[0].style.title} ({first['tokens_mean']:.1f})",
                          ", ".join(parts)))
    if len({(head, body) for _, head, body in notes}) == 1:  # variants that leave lengths alone: say it once
        notes = [("", *notes[0][1:])]
    return [f"{head}{f' with {where}' if where else ''}: {body}." for where, head, body in notes]


def _over_seeds(seeds: tuple[int, ...], results: list[dict[str, Any]]) -> dict[str, Any]:
    """One ``training`` result from several seeds: the mean of each loss, its spread, and each seed's value.

    The curve and steps are the first seed's; ``val_examples`` holds each example's loss averaged over seeds.
    """
    combined = dict(results[0])
    combined["seeds"] = [{"seed": seed, "val_response_loss": r["val_response_loss"], "val_loss": r["val_loss"]}
                         for seed, r in zip(seeds, results, strict=True)]
    for key in ("val_response_loss", "val_loss"):
        values = [r[key] for r in results if r[key] is not None]
        combined[key] = statistics.fmean(values) if values else None
        combined[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else None
    combined["seconds"] = sum(r["seconds"] for r in results)
    examples = [r["val_examples"] for r in results]  # the same examples each time: average their losses
    combined["val_examples"] = {**examples[0], "nll": [statistics.fmean(values) for values in
                                                       zip(*(e["nll"] for e in examples), strict=True)]}
    return combined


def _device(experiment: Experiment, data: PreparedData) -> str:
    """Where a run trains: ``training.device``, or the collator's device when only that one is set."""
    device = experiment.training.device
    return local_device(data.config.collate.device if device == "cpu" else device)


def compare(
    experiment: str | os.PathLike[str] | Mapping[str, Any] | Experiment,
    *,
    output: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    progress: Callable[[CompareProgress], None] | bool | None = True,
) -> dict[str, Any]:
    """Run a comparison and write its outputs; returns the results as plain data.

    ``experiment`` is a YAML path, a mapping or an :class:`Experiment`; ``output`` replaces its output
    folder. Before any run trains, every run's data is checked (enough for a training step, a scored
    validation token and the requested responses) and so is the folder: it must be writable and hold
    nothing but an earlier comparison's files, unless ``overwrite`` is set. Finished runs in the folder
    with the same fingerprint are reused unless ``overwrite`` is set, which first removes the earlier
    outputs (only those). ``progress`` is called as each phase of each run advances; by default (``True``) tqdm
    bars show on stderr when it is a terminal (rank 0 only), ``False`` shows none. The returned dict is
    ``results.json`` plus ``files``, the paths written.

    Under ``torchrun`` every rank prepares the data (rank 0 tokenizes, the others load its cache entry) and
    trains its share of each run's batches in DistributedDataParallel; rank 0 alone decides what to resume,
    generates the responses and writes every file, and every rank returns rank 0's results.
    """
    callback: Callable[[CompareProgress], None] | None = default_progress(progress)
    experiment = load_experiment(experiment if not isinstance(experiment, os.PathLike) else os.fspath(experiment))
    folder = Path(output if output is not None else experiment.output)
    check_output(folder, overwrite=overwrite)
    if experiment.training.objective == "dpo":
        def started(label: str, index: int, runs: int) -> None:
            if callback is not None:
                callback(CompareProgress(label, index, runs, "train"))

        return compare_dpo_runs(experiment, folder, overwrite=overwrite, report=started)
    runs, prepared, skipped = [], [], {}
    for run in experiment.runs():  # every run's data is checked before the first one trains
        try:
            data = prepare_data(run.config)
        except UnknownMarkupError as error:
            if experiment.on_unknown_markup == "error":
                raise UnknownMarkupError(f"{error}; or set on_unknown_markup: skip to leave the style out") from None
            logger.warning("%s: skipped, %s", run.label, error)
            skipped[run.label] = str(error)
            continue
        runs.append(run)
        check_loaders(build_dataloaders(data.config, data=data, response_mask=True),
                      generation_records=experiment.generation.records)
        prepared.append(data)
    if not runs:
        raise ConfigError("no style's markup is known to the tokenizer, so nothing is left to compare",
                          path="styles")
    main = is_main_process()
    if main:
        prepare_output(folder)
        if overwrite:
            clear_output(folder)
    barrier()
    factories: dict[int | None, Callable[[int], Any]] = {}
    styles: dict[str, dict[str, Any]] = {}
    responses: dict[str, list[dict[str, Any]]] = {}
    lengths: dict[str, list[int]] = {}
    resumed = []

    for index, (run, data) in enumerate(zip(runs, prepared, strict=True), start=1):
        def report(phase: Phase, done: int = 0, total: int = 0, seed: int | None = None, run: Run = run,
                   index: int = index) -> None:
            if callback is not None:
                callback(CompareProgress(run.label, index, len(runs), phase, done, total, seed))

        fingerprint = run_fingerprint(experiment, run, data)
        path = run_file(folder, run.label)
        stored = broadcast_object(None if overwrite or not main else read_run(path, fingerprint))
        if stored is not None:
            logger.info("%s: reusing the finished run in %s", run.label, path)
            resumed.append(run.label)
            report("resumed")
        else:
            logger.info("run %d/%d: %s", index, len(runs), run.label)
            report("static")
            trained = []
            for seed in experiment.seeds or (None,):
                if seed not in factories:
                    initial = experiment.training.seed if seed is None else seed
                    factories[seed] = model_factory(experiment.model, initial, _device(experiment, data))
                seeded, budget = data, replace(experiment.training, device=_device(experiment, data))
                if seed is not None:  # the seed sets the initialisation and the data order
                    seeded = replace(data, config=replace(data.config, loader=replace(data.config.loader, seed=seed)))
                    budget = replace(budget, seed=seed)
                model = factories[seed](data.tokenizer.vocab_size)
                loaders = build_dataloaders(seeded.config, data=seeded, response_mask=True)
                trained.append((model, fine_tune(model, loaders, budget,
                                                 progress=functools.partial(report, "train", seed=seed))))
            if not main:  # rank 0 generates and writes; the others go on to the next run's training
                report("done")
                continue
            static, run_lengths = measure_static(data)
            model, training = trained[0]  # responses come from the first seed's model
            if experiment.seeds:
                training = _over_seeds(experiment.seeds, [result for _, result in trained])
            spec = experiment.generation
            generation, entries = generate_responses(model, data, spec.records, spec.max_new_tokens,
                                                     progress=functools.partial(report, "generate",
                                                                                seed=(experiment.seeds or [None])[0]))
            stored = {"label": run.label, "hash": fingerprint, "style": run.style.name,
                      "options": run.style.options, "variant": run.variant,
                      "frozen_style": frozen(data.style, plugins=data.config.plugins),
                      "results": {"static": static, "training": training, "generation": generation},
                      "lengths": run_lengths, "responses": entries}
            write_json(path, stored)
            logger.info("%s: val loss on response text %.4f", run.label, training["val_response_loss"] or 0.0)
        styles[run.label] = with_tool_calls(stored["results"], data.style, data.records, stored["responses"])
        lengths[run.label] = stored["lengths"]
        responses[run.label] = stored["responses"]
        report("done")
    if not main:
        return broadcast_object({})  # rank 0 sends its results
    first_data = prepared[0]
    notes = _compare_lengths(styles, runs) + [f"Skipped {label}: {reason}." for label, reason in skipped.items()]
    settings = experiment.to_dict()
    source = first_data.config.data.source
    settings["base"]["data"]["path"] = _display_path(source) if "://" not in source else None
    ran = first_data.config.tokenizer  # what ran: the model's own tokenizer where it dictates one
    settings["base"]["tokenizer"] = {"name": first_data.tokenizer.name, "path": ran.path,
                                     "special_tokens": ran.special_tokens}
    settings["model"] = experiment.model.settings()
    settings["output"] = str(folder)
    settings["data"] = {"records": len(first_data.records), "splits": first_data.sizes}
    results: dict[str, Any] = {
        "headline": {"metric": "training.val_response_loss", "lower_is_better": True},
        "notes": notes,
        "settings": settings,
        "styles": styles,
        "resumed": resumed,
        "skipped": skipped,
    }
    results["warnings"] = style_warnings(results)  # derived again by the report; kept here for tools
    results["paired"] = paired_differences(results)
    files = _write_outputs(folder, results, lengths, responses, first_data.config.collate.allowed_max_length)
    return broadcast_object({**results, "files": {name: str(p) for name, p in files.items()}})


def _write_outputs(
    folder: Path, results: dict[str, Any], lengths: dict[str, list[int]], responses: dict[str, Any],
    max_length: int | None,
) -> dict[str, Path]:
    styles = results["styles"]
    files = {
        "loss_curves": plot_loss_curves({s: r["training"]["curve"] for s, r in styles.items()},
                                        folder / PLOTS["Loss curves"]),
        "token_lengths": plot_length_distributions(lengths, folder / PLOTS["Tokens per example"],
                                                   max_length=max_length),
        "padding_truncation": plot_padding_truncation(
            {s: r["static"]["padding_fraction"] for s, r in styles.items()},
            {s: r["static"]["truncated"] for s, r in styles.items()}, folder / PLOTS["Padding and truncation"]),
        "generation_metrics": plot_generation_metrics(
            {s: r["generation"] for s, r in styles.items()}, metric_intervals(results, GENERATION_PLOTTED),
            folder / PLOTS["Generation: stops, leaks, length"]),
        "responses": write_json(folder / "responses.json", responses),
    }
    files.update(write_report(results, folder, plots=PLOTS))
    logger.info("wrote the comparison to %s", folder)
    return files
