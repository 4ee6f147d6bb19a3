"""SIGTERM while the product waits on Plex's real budget (200 calls a minute): the process ends within the
grace period with exit 0, and what it wrote is committed, so the next run does not fetch it again."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

from tests.integration.conftest import World, world_serving, world_wait

REAL_BUDGET = 200  # Plex's calls a minute, enforced by the simulated Plex and configured in the product
FAN_OUT_SHARE = 0.1  # per-parent calls may hold 20 of those 200: the rest of a cold start's wait on it
GRACE_S = 30.0
PER_PARENT = re.compile(r"/engineering/v1/boms$|/jobs/[^/]+/operations$|/control/workcenters/[^/]+$")


def per_parent_calls(world: World) -> int:
    return sum(n for route, n in world.plex.request_counts().items() if PER_PARENT.search(route))


def bom_calls(world: World) -> int:
    return sum(
        n for route, n in world.plex.request_counts().items() if route.endswith("/engineering/v1/boms")
    )


def test_sigterm_during_a_budget_wait_exits_0_within_the_grace_period(tmp_path: Path) -> None:
    with world_serving(tmp_path / "work", rate_limit_per_minute=REAL_BUDGET) as world:
        tree = world.config_tree()
        tree["plex"]["calls-per-minute"] = REAL_BUDGET
        tree["plex"]["fan-out-share"] = FAN_OUT_SHARE
        config = world.write_config(tree)
        world.setup(config)
        process = world.start("run", "-c", str(config))
        cap = int(REAL_BUDGET * FAN_OUT_SHARE)
        try:
            # the per-parent lane's share of this minute is spent: its next call waits on the budget
            world_wait(lambda: per_parent_calls(world) >= cap, 60, f"{cap} per-parent Plex calls")
            assert process.poll() is None, "the service ended before it was stopped"
        finally:
            sent = time.monotonic()
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=GRACE_S + 15)
            except subprocess.TimeoutExpired:
                process.kill()
                raise AssertionError(f"no exit within {GRACE_S + 15:.0f} s of SIGTERM") from None
        took = time.monotonic() - sent
        assert code == 0, f"SIGTERM during a budget wait exited {code}:\n{world.output()[-3000:]}"
        assert took < GRACE_S, f"the process took {took:.1f} s to end after SIGTERM (grace {GRACE_S:g} s)"
        assert per_parent_calls(world) <= cap, "a per-parent call went out after its share was spent"
        boms_before = bom_calls(world)

        tree["plex"]["fan-out-share"] = 1.0  # the rerun may use the whole budget
        rerun = world.cli("run", "--once", "-c", str(world.write_config(tree)), timeout=300)
        assert rerun.returncode == 0, f"the run after SIGTERM failed:\n{rerun.stderr[-3000:]}"
        built_parts = sum(1 for p in world.plex.plant.master.parts if p.type != "Raw Material")
        committed = built_parts - (bom_calls(world) - boms_before)
        assert committed > 0, "no BOM written before SIGTERM was committed: the rerun fetched them all again"
        assert committed <= boms_before, "the rerun skipped BOMs the first run never fetched"
