"""Memory of a process tree, and measurements run each in a fresh Python process.

Three figures, because each answers a different question:
- **RSS** (resident set size): every page a process has mapped in memory, shared or not. Pages of a file in
  the page cache (a memory-mapped token store, the libraries) count in full in every process that maps them,
  so adding RSS over processes counts shared pages several times.
- **PSS** (proportional set size): each page divided by the number of processes that map it. PSS adds up over
  processes to what the tree really occupies; it is the honest sum for DataLoader workers.
- **USS** (unique set size, private clean + private dirty pages): what would be freed if the process exited;
  a worker's USS is what that worker costs on top of what it shares.
All three come from ``/proc/<pid>/smaps_rollup`` (Linux 4.14+). The peak RSS of a process over its whole life
is ``getrusage(RUSAGE_SELF).ru_maxrss``; ``RUSAGE_CHILDREN`` gives the largest peak of its waited-for children
(a maximum, not a sum), so the tree's peak is also sampled while the measurement runs.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MemoryPeak", "TreeSampler", "descendants", "memory_of", "own_peaks", "run_child", "tree_memory"]

KIB = 1024


def memory_of(pid: int) -> dict[str, int]:
    """``{"rss", "pss", "uss"}`` in bytes for process ``pid``, from ``/proc/<pid>/smaps_rollup``."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
        for line in handle:
            name, _, rest = line.partition(":")
            parts = rest.split()
            if len(parts) == 2 and parts[1] == "kB":
                values[name] = int(parts[0]) * KIB
    return {"rss": values["Rss"], "pss": values["Pss"],
            "uss": values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)}


def descendants(pid: int) -> list[int]:
    """The ids of the living descendants of ``pid``, children first, from each process's parent in
    ``/proc/<pid>/stat``."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="utf-8", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])  # the name in parentheses may hold spaces
        children.setdefault(parent, []).append(int(entry.name))
    out, queue = [], [pid]
    while queue:
        found = children.get(queue.pop(0), [])
        out += found
        queue += found
    return out


def tree_memory(pid: int) -> list[tuple[int, dict[str, int]]]:
    """``(pid, memory_of(pid))`` for ``pid`` and each living descendant (those that vanish meanwhile are left out)."""
    pids = [pid, *descendants(pid)]
    out = []
    for member in pids:
        try:
            out.append((member, memory_of(member)))
        except (FileNotFoundError, ProcessLookupError, KeyError):
            continue
    return out


def own_peaks() -> dict[str, int]:
    """This process's peak RSS and its waited-for children's largest peak RSS, in bytes (Linux reports KiB)."""
    return {"peak_rss_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KIB,
            "peak_rss_children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * KIB}


@dataclass
class MemoryPeak:
    rss: int = 0
    pss: int = 0
    processes: int = 0
    samples: int = 0


@dataclass
class TreeSampler:
    """Samples the summed RSS and PSS of a process tree every ``interval`` seconds on a thread, keeping peaks.

    Sampling can miss a spike shorter than the interval; the main process's exact peak (``ru_maxrss``) is
    reported beside it."""

    pid: int
    interval: float = 0.05
    peak: MemoryPeak = field(default_factory=MemoryPeak)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            members = tree_memory(self.pid)
            if members:
                self.peak.rss = max(self.peak.rss, sum(m["rss"] for _, m in members))
                self.peak.pss = max(self.peak.pss, sum(m["pss"] for _, m in members))
                self.peak.processes = max(self.peak.processes, len(members))
                self.peak.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_child(script: str, task: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    """Run ``script --child TASK`` in a fresh interpreter, sampling its tree; its last stdout line is JSON.

    Returns the child's result with ``wall_process`` (seconds, interpreter start included) and the sampled
    ``tree_peak_rss`` / ``tree_peak_pss`` added."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, script, "--child", json.dumps(task)], stdout=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    with TreeSampler(process.pid) as sampler:
        output, _ = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"measurement {task['task']} failed with exit status {process.returncode}")
    lines = output.strip().splitlines()
    result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    result.update(wall_process=time.perf_counter() - start, tree_peak_rss=sampler.peak.rss,
                  tree_peak_pss=sampler.peak.pss, tree_processes=sampler.peak.processes,
                  tree_samples=sampler.peak.samples)
    return result
