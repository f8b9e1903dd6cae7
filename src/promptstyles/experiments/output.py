"""The comparison's output folder: what ``compare`` writes there, checked before any run trains.

A comparison can run for a long time, so a folder it cannot write to must fail at once rather than
after the last run. It also refuses a folder that holds files it did not write (a report must not land
among someone's own files, and ``overwrite`` must not touch them), unless told to write there anyway.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path

from ..errors import ConfigError

__all__ = ["OUTPUTS", "PLOTS", "RUNS", "check_output", "clear_output", "prepare_output", "run_file"]

logger = logging.getLogger(__name__)

PLOTS = {
    "Loss curves": "loss_curves.png",
    "Tokens per example": "token_lengths.png",
    "Padding and truncation": "padding_truncation.png",
    "Generation: stops, leaks, length": "generation_metrics.png",
}
OUTPUTS = ("report.md", "results.json", "results.csv", "responses.json", *PLOTS.values())
RUNS = "runs"
"""The sub-folder of finished runs, one ``<run>.json`` each."""


def run_file(folder: Path, label: str) -> Path:
    """Where the finished run ``label`` is saved in the comparison ``folder``: its label as a file name."""
    return folder / RUNS / f"{re.sub(r'[^A-Za-z0-9._=-]+', '-', label).strip('-') or 'run'}.json"


def _ours(name: str, names: tuple[str, ...]) -> bool:
    """One of ``names``, or the temporary file an interrupted atomic write of one of them left behind."""
    return name in names or (name.endswith(".tmp") and any(name.startswith(f".{n}.") for n in names))


def _foreign(folder: Path) -> list[str]:
    """Entries of ``folder`` that ``compare`` did not write."""
    foreign = []
    for entry in sorted(folder.iterdir()):
        if entry.name == RUNS and entry.is_dir():
            foreign += [f"{RUNS}/{inner.name}" for inner in sorted(entry.iterdir())
                        if not (inner.is_file() and (inner.suffix == ".json" or inner.name.endswith(".tmp")))]
        elif not (entry.is_file() and _ours(entry.name, OUTPUTS)):
            foreign.append(entry.name)
    return foreign


def check_output(folder: Path, *, overwrite: bool = False) -> None:
    """Fail unless ``folder`` is new, empty, or holds only what an earlier comparison wrote.

    With ``overwrite`` a folder with other files is accepted (they are left alone). Creates nothing.
    """
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder} is a file, not a folder; give another output folder", path="output")
    if not folder.is_dir():
        return
    foreign = _foreign(folder)
    if foreign and not overwrite:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ConfigError(
            f"{folder} holds files a comparison did not write ({shown}); give a new or empty output folder,"
            " or pass --overwrite (overwrite=True) to write there anyway", path="output")


def prepare_output(folder: Path) -> None:
    """Create ``folder`` and its runs folder and prove a file can be written there."""
    try:
        (folder / RUNS).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder / RUNS):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"cannot write to the output folder {folder} ({reason}); give a folder you can write to",
                          path="output") from None


def clear_output(folder: Path) -> None:
    """Remove what an earlier comparison wrote here (only those files)."""
    for name in OUTPUTS:
        (folder / name).unlink(missing_ok=True)
    runs = folder / RUNS
    if runs.is_dir():
        for path in runs.glob("*.json"):
            path.unlink()
    logger.info("cleared the earlier comparison in %s", folder)
