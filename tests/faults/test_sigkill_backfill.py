"""SIGKILL at random instants during `plex-cdf backfill`, each followed by a restart: CDF ends exactly equal
to the tenant's production history (no entry missing, none twice, every quantity point once).

The simulators and the local CDF run in this process; only the extractor is killed. Its state is a SQLite
file in the test's folder, so each restart resumes from what the killed process committed. Kill *i* of *n*
waits until the backfill has committed a random point of the *i*-th of *n* slices of its work (so the kills
spread over every resource, not only the first) and then comes at a random instant up to half a second
later: while it fetches, transforms, writes to CDF or commits its state.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from plex_cdf.domains.resource import TimeRange
from tests.faults.world import (
    DATA_MODELING,
    HISTORY_ROWS,
    World,
    compare_with_cdf,
    compare_with_instances,
    history_span,
    prefixed_assets,
    production_truth,
    run_cli,
    start_cli,
    world,
)

KINDS = ("production", "scrap", "workcenter_status", "downtime", "labor")
HISTORY_REQUESTS = "/production/v1/production-history/"
ATTEMPT_DEADLINE_S = 120.0  # a restarted backfill must reach its next kill point within this time
KILL_WITHIN_S = 0.5
KILLED_SHARE = 0.9  # kill points lie in the first 90 % of the work, so the last kill comes before the end
# Latency slows the backfill down enough that a kill point is not overrun before the kill comes.
PLEX_LATENCY_MS = 60
CDF_LATENCY_MS = 20


def history_calls(w: World) -> int:
    return sum(n for route, n in w.sim.request_counts().items() if HISTORY_REQUESTS in route)


def committed_hours(state: Path, begin: datetime) -> float:
    """How far the backfill's watermarks have moved past its start, summed over resources, in hours."""
    if not state.exists():
        return 0.0
    with sqlite3.connect(state, timeout=30) as db:
        tables = {name for (name,) in db.execute("select name from sqlite_master where type='table'")}
        if "watermarks" not in tables:
            return 0.0
        marks = [datetime.fromisoformat(value) for (value,) in db.execute("select value from watermarks")]
    return sum((mark - begin).total_seconds() / 3600 for mark in marks)


def kill_points(rng: random.Random, kills: int, span: TimeRange) -> list[float]:
    """Committed hours at which each kill is armed: one random point in each of `kills` equal slices."""
    total = len(HISTORY_ROWS) * (span.end - span.begin).total_seconds() / 3600 * KILLED_SHARE
    return [total * (i + rng.random()) / kills for i in range(kills)]


def kill_during_backfill(w: World, args: list[str], span: TimeRange, armed_at: float, delay: float) -> bool:
    """Start the backfill; once it is fetching and has committed `armed_at` hours, SIGKILL it `delay`
    seconds later. False when it finished before the kill came."""
    before = history_calls(w)
    process = start_cli(*args)
    try:
        deadline = time.monotonic() + ATTEMPT_DEADLINE_S
        while process.poll() is None and (
            history_calls(w) == before or committed_hours(w.state_path, span.begin) < armed_at
        ):
            assert time.monotonic() < deadline, f"the backfill never got to {armed_at:.0f} committed hours"
            time.sleep(0.05)
        kill_at = time.monotonic() + delay
        while time.monotonic() < kill_at and process.poll() is None:
            time.sleep(0.01)
        alive = process.poll() is None
        if alive:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        stop(process)
    if not alive:
        assert process.returncode == 0, f"the backfill failed on its own (exit {process.returncode})"
    return alive


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()
    if process.stderr is not None:
        process.stderr.close()


def backfill_through_kills(tmp_path: Path, kills: int, seed: int, days: int, *, dm: bool = False) -> None:
    rng = random.Random(seed)
    span = history_span(days=days)
    with world(tmp_path, latency_ms=PLEX_LATENCY_MS) as w:
        config = str(w.write_config(destination=DATA_MODELING) if dm else w.write_config())
        setup = run_cli("setup", "-c", config)
        assert setup.returncode == 0, setup.stderr
        setup_assets = prefixed_assets(w.cdf)
        w.cdf.set_faults(latency_ms=CDF_LATENCY_MS)
        args = ["backfill", "--from", span.begin.isoformat(), "--to", span.end.isoformat()]
        args += ["--only", "production", "-c", config]

        progress: list[float] = []
        for armed_at in kill_points(rng, kills, span):
            killed = kill_during_backfill(w, args, span, armed_at, rng.uniform(0.0, KILL_WITHIN_S))
            assert killed, (
                f"the backfill finished after {len(progress)} kills, before kill {len(progress) + 1}"
            )
            progress.append(committed_hours(w.state_path, span.begin))
        assert progress == sorted(progress), f"a watermark moved backwards across kills: {progress}"

        w.cdf.set_faults(latency_ms=0)
        w.sim.set_faults(latency_ms=0)
        final = run_cli(*args)
        assert final.returncode == 0, f"the backfill after {kills} kills failed:\n{final.stderr}"

        expected = production_truth(w.sim, span)
        if dm:
            problems = compare_with_instances(w, expected, KINDS)
        else:
            problems = compare_with_cdf(w.cdf, expected, KINDS, setup_assets)
        assert problems == [], (
            f"after {kills} SIGKILLs and restarts, CDF differs from Plex's "
            f"{expected.records} history entries:\n" + "\n".join(problems)
        )


def test_two_sigkills_during_a_two_day_backfill_leave_cdf_equal_to_plex(tmp_path: Path) -> None:
    backfill_through_kills(tmp_path, kills=2, seed=2, days=2)


def test_two_sigkills_during_a_backfill_on_the_data_modeling_target_leave_cdf_equal_to_plex(
    tmp_path: Path,
) -> None:
    backfill_through_kills(tmp_path, kills=2, seed=15, days=2, dm=True)


@pytest.mark.slow
def test_twenty_sigkills_during_a_ten_day_backfill_leave_cdf_equal_to_plex(tmp_path: Path) -> None:
    backfill_through_kills(tmp_path, kills=20, seed=20, days=10)
