"""SIGKILL at random instants during `plex-cdf backfill`, each followed by a restart: CDF ends exactly equal
to the tenant's production history (no entry missing, none twice, every quantity point once).

The simulators and the local CDF run in this process; only the extractor is killed. Its state is a SQLite
file in the test's folder, so each restart resumes from what the killed process committed.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.faults.world import (
    World,
    compare_with_cdf,
    history_span,
    prefixed_assets,
    production_truth,
    run_cli,
    start_cli,
    world,
)

KINDS = ("production", "scrap", "workcenter_status", "labor")
HISTORY_REQUESTS = "/production/v1/production-history/"
START_DEADLINE_S = 60.0  # a restarted process must reach Plex within this time


def history_calls(w: World) -> int:
    return sum(n for route, n in w.sim.request_counts().items() if HISTORY_REQUESTS in route)


def committed_windows(state: Path) -> int:
    """How many backfill watermarks the state file holds (a killed process may leave none)."""
    if not state.exists():
        return 0
    with sqlite3.connect(state) as db:
        tables = {name for (name,) in db.execute("select name from sqlite_master where type='table'")}
        if "watermarks" not in tables:
            return 0
        return int(db.execute("select count(*) from watermarks").fetchone()[0])


def kill_during_backfill(w: World, args: list[str], rng: random.Random) -> bool:
    """Start a backfill, wait until it is fetching history, SIGKILL it after a random extra delay.
    False when the backfill finished before the kill came."""
    before = history_calls(w)
    process = start_cli(*args)
    deadline = time.monotonic() + START_DEADLINE_S
    while history_calls(w) == before and process.poll() is None:
        assert time.monotonic() < deadline, "the restarted backfill never reached Plex"
        time.sleep(0.02)
    kill_at = time.monotonic() + rng.uniform(0.0, 1.5)
    while time.monotonic() < kill_at and process.poll() is None:
        time.sleep(0.01)
    alive = process.poll() is None
    if alive:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    if process.stderr is not None:
        process.stderr.close()
    if not alive:
        assert process.returncode == 0, f"the backfill failed on its own (exit {process.returncode})"
    return alive


def backfill_through_kills(tmp_path: Path, kills: int, seed: int) -> None:
    rng = random.Random(seed)
    span = history_span(days=10)
    # Latency stretches the backfill so that every kill lands while it is fetching or writing.
    with world(tmp_path, latency_ms=60) as w:
        config = str(w.write_config())
        setup = run_cli("setup", "-c", config)
        assert setup.returncode == 0, setup.stderr
        setup_assets = prefixed_assets(w.cdf)
        w.cdf.set_faults(latency_ms=20)
        args = ["backfill", "--from", span.begin.isoformat(), "--to", span.end.isoformat()]
        args += ["--only", "production", "-c", config]

        killed = 0
        progress = []
        while killed < kills:
            if not kill_during_backfill(w, args, rng):
                break
            killed += 1
            progress.append(committed_windows(w.state_path))
        assert killed == kills, (
            f"the backfill finished after {killed} kills; it must be slow enough to be killed {kills} times"
        )
        assert progress[-1] > 0, "no window was ever committed between kills: the backfill made no progress"

        w.cdf.set_faults(latency_ms=0)
        w.sim.set_faults(latency_ms=0)
        final = run_cli(*args)
        assert final.returncode == 0, f"the backfill after {kills} kills failed:\n{final.stderr}"

        expected = production_truth(w.sim, span)
        problems = compare_with_cdf(w.cdf, expected, KINDS, setup_assets)
        assert problems == [], (
            f"after {kills} SIGKILLs and restarts, CDF differs from Plex's "
            f"{expected.records} history entries:\n" + "\n".join(problems)
        )


def test_two_sigkills_during_a_backfill_leave_cdf_equal_to_plex(tmp_path: Path) -> None:
    backfill_through_kills(tmp_path, kills=2, seed=2)


@pytest.mark.slow
def test_twenty_sigkills_during_a_backfill_leave_cdf_equal_to_plex(tmp_path: Path) -> None:
    backfill_through_kills(tmp_path, kills=20, seed=20)
