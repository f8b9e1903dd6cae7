"""``compare`` with ``training.objective: dpo``: styles ranked by a DPO run on the experiment's preference data.

Each run (a style under a grid variant) renders the same preference pairs, builds the same initial model (the
SFT start, which is also DPO's frozen reference), trains it with DPO on the same pairs in the same order and
budget, and scores the validation pairs: reward margin, reward accuracy and DPO loss, with each pair's margin
kept for paired bootstrap intervals against the best run (:func:`.dpo_compare.rank_by_margin`). Finished
runs are saved with their fingerprint and reused, as in the SFT comparison; the folder gets ``report.md``
and ``results.json``.
"""

from __future__ import annotations

import copy
import logging
import statistics
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._io import atomic_write_bytes
from ..distributed import local_device
from ..errors import ConfigError
from ..pipeline import PreparedData, build_dataloaders, prepare_data
from .config import Experiment, Run
from .dpo import evaluate_dpo, train_dpo
from .dpo_compare import dpo_report, rank_by_margin
from .model import GPT
from .output import clear_output, prepare_output, run_file
from .report import write_json
from .resume import read_run, run_fingerprint
from .runner import model_factory

__all__ = ["compare_dpo_runs"]

logger = logging.getLogger(__name__)


class _Unmasked(nn.Module):
    """Our GPT scoring right-padded pair rows: causal attention never reaches the padding after a row's tokens,
    so the attention mask a Hugging Face model takes is not needed."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.model(ids)


def _prepared(experiment: Experiment) -> list[tuple[Run, PreparedData]]:
    """Every run's data, checked to be preference pairs with validation pairs to score, before any run trains."""
    prepared = []
    for run in experiment.runs():
        data = prepare_data(run.config)
        if not data.preference:
            raise ConfigError(f"training.objective: dpo trains on preference pairs, but {run.config.data.source} "
                              "holds instruction records; give records with chosen and rejected answers",
                              path="base.data")
        if not len(data.pairs["val"]):
            raise ConfigError(f"{run.label}: no validation pairs to score; lower data.split.train or test",
                              path="base.data.split")
        prepared.append((run, data))
    return prepared


def _train_run(experiment: Experiment, data: PreparedData, seed: int | None,
               factories: dict[int | None, Callable[[int], nn.Module]]) -> dict[str, Any]:
    """One DPO run from the seed's start: training losses and the validation pairs' scores."""
    device = local_device(experiment.training.device)
    budget = replace(experiment.training, device=device)
    if seed is not None:  # the seed sets the initialisation and the data order
        data = replace(data, config=replace(data.config, loader=replace(data.config.loader, seed=seed)))
        budget = replace(budget, seed=seed)
    if seed not in factories:
        factories[seed] = model_factory(experiment.model, budget.seed, device)
    model = factories[seed](data.tokenizer.vocab_size)
    if isinstance(model, GPT):
        model = _Unmasked(model)
    reference = copy.deepcopy(model)
    loaders = build_dataloaders(data.config, data=data)
    losses = train_dpo(model, loaders.train, budget, beta=budget.beta, reference=reference)
    scored = evaluate_dpo(model, reference, loaders.val, beta=budget.beta, device=device)
    margins = np.asarray(scored.margins)
    return {"reward_margin": scored.reward_margin, "reward_accuracy": scored.reward_accuracy, "loss": scored.loss,
            "train_loss": losses, "margins": margins}


def _run(experiment: Experiment, data: PreparedData, factories: dict[int | None, Callable[[int], nn.Module]]
         ) -> dict[str, Any]:
    """A run's result over its seeds: each seed's numbers, their means and spread, and each pair's mean margin."""
    seeds = experiment.seeds or (None,)
    trained = [_train_run(experiment, data, seed, factories) for seed in seeds]
    margins = np.mean([result["margins"] for result in trained], axis=0)
    result: dict[str, Any] = {key: statistics.fmean(r[key] for r in trained)
                              for key in ("reward_margin", "reward_accuracy", "loss")}
    if len(trained) > 1:
        result["reward_margin_std"] = statistics.stdev(r["reward_margin"] for r in trained)
        result["seeds"] = [{"seed": seed, "reward_margin": r["reward_margin"], "reward_accuracy": r["reward_accuracy"]}
                           for seed, r in zip(seeds, trained, strict=True)]
    result["train_loss"] = trained[0]["train_loss"]
    result["dropped"] = sum(data.dropped.values())
    result["val_examples"] = {"records": (data.pairs["val"].examples.positions[0::2] // 2).tolist(),
                              "margin": margins.tolist(), "correct": (margins > 0).astype(float).tolist()}
    return result


def compare_dpo_runs(experiment: Experiment, folder: Path, *, overwrite: bool = False,
                     report: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Run every style of ``experiment`` with DPO, reusing finished runs in ``folder``, and write the report;
    returns the results (``best``, ``styles``, ``resumed``) and ``files``. ``report(label, index, runs)`` is
    called as each run starts."""
    prepared = _prepared(experiment)
    prepare_output(folder)
    if overwrite:
        clear_output(folder)
    factories: dict[int | None, Callable[[int], nn.Module]] = {}
    styles: dict[str, Any] = {}
    resumed = []
    for index, (run, data) in enumerate(prepared, start=1):
        if report is not None:
            report(run.label, index, len(prepared))
        fingerprint = run_fingerprint(experiment, run, data)
        path = run_file(folder, run.label)
        stored = None if overwrite else read_run(path, fingerprint)
        if stored is None:
            stored = {"label": run.label, "hash": fingerprint, "style": run.style.name, "variant": run.variant,
                      "results": _run(experiment, data, factories)}
            write_json(path, stored)
        else:
            resumed.append(run.label)
        styles[run.label] = stored["results"]
        logger.info("%s: DPO reward margin %.4f", run.label, styles[run.label]["reward_margin"])
    results = {**rank_by_margin(styles), "resumed": resumed, "headline": {"metric": "reward_margin",
                                                                           "lower_is_better": False},
               "settings": experiment.to_dict()}
    first = prepared[0][1]
    text = (f"# Styles ranked by a DPO run\n\n{len(first.records)} preference pairs ({first.sizes['train']} train, "
            f"{first.sizes['val']} validation); every style starts from the same model, which is also the "
            f"reference, with beta {experiment.training.beta}. Reward margin and accuracy are on the validation "
            "pairs; intervals are paired bootstrap intervals (95%) of each style's margin minus the best's.\n\n"
            + dpo_report(results))
    markdown = folder / "report.md"
    atomic_write_bytes(markdown, text.encode("utf-8"))
    files = {"markdown": markdown, "json": write_json(folder / "results.json", results)}
    return {**results, "files": {name: str(p) for name, p in files.items()}}
