"""Wall time of ``promptstyles compare`` on the shipped DPO experiment (the sample preference pairs).

Runs the command once in a fresh output folder and prints the wall time, the CPU time and the load average
before and after (the machine may be shared: the load says how much of it the run had).

    python benchmarks/bench_dpo_compare.py
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from promptstyles.experiments.compare import default_experiment_path


def main() -> None:
    experiment = default_experiment_path().parent / "dpo.yaml"
    with tempfile.TemporaryDirectory() as folder:
        before = os.getloadavg()
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "promptstyles", "compare", str(experiment), "--output",
                        str(Path(folder) / "out")], check=True)
        wall = time.perf_counter() - start
        after = os.getloadavg()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"cores: {os.cpu_count()}, load average before {before[0]:.2f}, after {after[0]:.2f}")
    print(f"wall {wall:.1f} s, CPU user {usage.ru_utime:.1f} s, system {usage.ru_stime:.1f} s")


if __name__ == "__main__":
    main()
