"""Regression check of the data-path benchmark: run it again and compare its ratios with the recorded ones.

Run from the repository root, with the benchmark's peers installed (``benchmarks/requirements.txt``):

    python benchmarks/check_regression.py                  # three fresh runs of bench_data.py, each ratio's best
    python benchmarks/check_regression.py --runs 1         # one run (a quiet machine)
    python benchmarks/check_regression.py --fresh new.json # compare a run already made (its --ratios file)

The recorded ratios are ``benchmarks/RESULTS-data.json``, written by ``python benchmarks/bench_data.py`` with
the results it puts in ``RESULTS.md``. Every ratio is peer time / ours or raw time / ours, so higher is better.
The check fails (exit status 1) when any recorded ratio is more than ``--tolerance`` (default 20%) below the
recorded one, or was not measured at all (a peer not installed); it prints one line per ratio either way.
Fresh runs write to a temporary folder: the recorded files are never touched.

On a shared machine a run can lose time to other processes: one run of the recorded figures, checked
against itself under a load average of 8 on 2 cores, saw three ratios fall 25-35%. A real regression shows
in every run, noise rarely in all of them, so by default each ratio keeps its best of three runs (about
three minutes each on that machine). Every run is a separate process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
RECORDED = BENCHMARKS / "RESULTS-data.json"
TOLERANCE = 0.2


def compare(recorded: dict[str, float], fresh: dict[str, float], tolerance: float = TOLERANCE) -> list[str]:
    """One line per recorded ratio, starting ``FAIL`` where the fresh one fell more than ``tolerance`` below it
    or is missing, ``ok`` otherwise."""
    lines = []
    for name, then in recorded.items():
        now = fresh.get(name)
        floor = then * (1 - tolerance)
        if now is None:
            lines.append(f"FAIL {name}: recorded {then:.2f}, not measured in this run (is its peer installed?)")
        elif now < floor:
            lines.append(f"FAIL {name}: {now:.2f}, more than {tolerance:.0%} below the recorded {then:.2f} "
                         f"(floor {floor:.2f})")
        else:
            lines.append(f"ok   {name}: {now:.2f} (recorded {then:.2f}, floor {floor:.2f})")
    return lines


def best_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each ratio's highest value over the runs that measured it."""
    best: dict[str, float] = {}
    for ratios in runs:
        for name, value in ratios.items():
            best[name] = max(value, best.get(name, value))
    return best


def fresh_run(folder: Path, index: int, repeat: int | None) -> dict[str, float]:
    """The ratios of one run of ``bench_data.py`` in a fresh process, its files written into ``folder``."""
    ratios = folder / f"run{index}.json"
    command = [sys.executable, str(BENCHMARKS / "bench_data.py"), "--output", str(folder / f"run{index}.md"),
               "--ratios", str(ratios)]
    if repeat is not None:
        command += ["--repeat", str(repeat)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return read_ratios(ratios)


def read_ratios(path: Path) -> dict[str, float]:
    return {name: float(value) for name, value in json.loads(path.read_text(encoding="utf-8"))["ratios"].items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recorded", type=Path, default=RECORDED)
    parser.add_argument("--fresh", type=Path, nargs="*", default=[], help="ratio files of runs already made")
    parser.add_argument("--runs", type=int, default=3, help="fresh runs of bench_data.py (without --fresh)")
    parser.add_argument("--repeat", type=int, help="bench_data.py's --repeat")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE)
    args = parser.parse_args(argv)
    recorded = read_ratios(args.recorded)
    if args.fresh:
        runs = [read_ratios(path) for path in args.fresh]
    else:
        with tempfile.TemporaryDirectory(prefix="promptstyles-check-") as folder:
            runs = [fresh_run(Path(folder), index, args.repeat) for index in range(args.runs)]
    lines = compare(recorded, best_of(runs), args.tolerance)
    print("\n".join(lines))
    failed = sum(line.startswith("FAIL") for line in lines)
    print(f"{failed} of {len(lines)} ratios regressed" if failed else f"all {len(lines)} ratios within "
          f"{args.tolerance:.0%} of {args.recorded.name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
