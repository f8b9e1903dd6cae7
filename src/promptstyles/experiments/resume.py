"""Resuming a comparison: each finished run is saved with a fingerprint of everything that decides its numbers.

A saved run is reused only when its fingerprint equals the one computed now, so a change to the records,
their tokens, the split, the style, the tokenizer, the model or any setting recomputes that run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..distributed import placement
from ..pipeline import PreparedData
from .config import Experiment, Run

__all__ = ["RESULTS_FORMAT", "read_run", "run_fingerprint"]

RESULTS_FORMAT = 2
"""Bumped when a run's saved results gain fields (2: generation metrics per example), so resume recomputes."""

def run_fingerprint(experiment: Experiment, run: Run, data: PreparedData) -> str:
    """Everything that decides a run's numbers, hashed: a saved run with another fingerprint is recomputed.

    The records and their tokens, the split, the style and its options, the tokenizer, collate and loader
    settings, the model (and its checkpoint or weight files), the training budget, the generation settings and
    the seeds, and the format of the saved results.
    """
    described = experiment.to_dict()
    checkpoint = experiment.model.checkpoint
    stat = Path(checkpoint).stat() if checkpoint and Path(checkpoint).is_file() else None
    folder = Path(experiment.model.path) if experiment.model.path else None  # a model folder's weight files
    weights = sorted([p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in folder.glob("*")
                     if p.suffix in (".safetensors", ".bin")) if folder and folder.is_dir() else None
    settings = {
        "config": run.config.to_dict(),
        "style": [run.style.name, run.style.options, type(data.style).__module__, type(data.style).__qualname__],
        "tokenizer": [data.tokenizer.name, data.tokenizer.vocab_size],
        "model": described["model"],
        "checkpoint": None if stat is None else [stat.st_size, stat.st_mtime_ns],
        "weights": weights,
        "training": described["training"],
        "generation": described["generation"],
        "seeds": described["seeds"],
        "results": RESULTS_FORMAT,
    }
    world_size = placement().world_size
    if world_size > 1:  # ranks split the batches: the numbers depend on how many there are
        settings["world_size"] = world_size
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode("utf-8"))
    for record in data.records:
        digest.update(json.dumps(dataclasses.asdict(record), sort_keys=True).encode("utf-8"))
    # Hashed in place (same bytes as ``tobytes``): a memory-mapped store is not copied into memory.
    digest.update(np.ascontiguousarray(data.dataset.tokens).data)
    digest.update(np.ascontiguousarray(data.dataset.lengths).data)
    for split in ("train", "val", "test"):
        digest.update(split.encode("ascii") + data.splits[split].positions.tobytes())
    return digest.hexdigest()[:16]


def read_run(path: Path, fingerprint: str) -> dict[str, Any] | None:
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stored if isinstance(stored, dict) and stored.get("hash") == fingerprint else None
