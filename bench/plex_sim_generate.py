"""Generation time and memory of the simulated Plex per scale, plus what each plant holds.

Run: .venv/bin/python bench/plex_sim_generate.py [--scales small,medium,large]
Each scale is built in a fresh process, so the peak resident memory printed is that plant's alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def measure(scale: str) -> dict[str, float]:
    """Build one plant in this process and report on it (run in a child process)."""
    from plex_cdf.sim.plex import SimPlex

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    sim = SimPlex(seed=1, scale=scale, now=START)
    seconds = time.perf_counter() - began
    peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    plant, now = sim.plant, sim.clock.now_ms()
    entries = sum(plant.jobs.entries_before(job, now) for job in range(len(plant.jobs)))
    return {
        "seconds": seconds,
        "peak_mb": peak_mb,
        "jobs": len(plant.jobs),
        "parts": len(plant.master.parts),
        "containers": len(plant.master.containers),
        "production_entries": entries,
        "history_days": plant.master.scale.history_days,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="small,medium,large")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    print(
        f"{'scale':<8}{'build s':>9}{'peak MB':>9}{'jobs':>9}{'parts':>8}{'containers':>11}"
        f"{'prod. entries':>15}{'days':>6}"
    )
    for scale in args.scales.split(","):
        done = subprocess.run(
            [sys.executable, __file__, "--child", scale], capture_output=True, text=True, check=True
        )
        m = json.loads(done.stdout)
        print(
            f"{scale:<8}{m['seconds']:>9.2f}{m['peak_mb']:>9.0f}{m['jobs']:>9,}{m['parts']:>8,}"
            f"{m['containers']:>11,}{m['production_entries']:>15,}{m['history_days']:>6}"
        )


if __name__ == "__main__":
    main()
