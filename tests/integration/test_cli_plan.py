"""`plex-cdf plan` against the simulated tenant at every scale: calls a minute per resource from the
tenant's sizes, the share of the budget, the cold-start time, and a warning naming the knob when the plan
does not fit the budget."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from plex_cdf.sim.plex.scales import SCALES
from tests.integration.conftest import world_serving

BOM_MINUTES = 7 * 24 * 60  # every part's BOM once a week


def plan_output(tmp_path: Path, scale: str, calls_per_minute: int = 200) -> tuple[str, dict[str, float]]:
    with world_serving(tmp_path / scale, scale=scale) as world:
        tree = world.config_tree()
        tree["plex"]["calls-per-minute"] = calls_per_minute
        tree["extractor"] = {}  # the default intervals and first-run reach
        done = world.cli("plan", "-c", str(world.write_config(tree)), timeout=600)
        parts = world.plex.plant.master.parts
    assert done.returncode == 0, f"`plex-cdf plan` failed:\n{done.stdout}\n{done.stderr}"
    rows = {
        m["name"]: float(m["per_minute"])
        for m in re.finditer(
            r"^(?P<name>[\w.]+)\s+(?:main|fan-out)\s+(?P<per_minute>[\d.]+)", done.stdout, re.M
        )
    }
    built = sum(1 for p in parts if p.type != "Raw Material")
    assert rows["boms"] == pytest.approx(built / BOM_MINUTES, abs=0.01), "BOMs: built parts once a week"
    return done.stdout, rows


@pytest.mark.parametrize("scale", ["small", "medium"])
def test_plan_prints_calls_per_resource_share_and_cold_start_time(tmp_path: Path, scale: str) -> None:
    out, rows = plan_output(tmp_path, scale)
    workcenters = SCALES[scale].workcenters
    # polled at most every production interval (5 minutes), less often when 3% of 200 a minute is short
    assert rows["workcenter_control_status"] == pytest.approx(min(workcenters / 5, 6.0), abs=0.01)
    assert rows["production_entries"] > 0 and rows["jobs_open"] > 0
    share = float(re.search(r"steady state: [\d.]+ calls a minute, ([\d.]+)% of the budget", out)[1])  # type: ignore[index]
    assert share == pytest.approx(sum(rows.values()) / 2, abs=0.2), "share = calls a minute / 200"
    assert re.search(r"cold start: [\d,]+ calls .* everything within \d+ min", out)
    assert "warning" not in out, f"a default plan at Plex's budget should fit:\n{out}"


@pytest.mark.slow  # the plan's own size probes wait on the tiny budget: about two minutes
def test_a_plan_over_the_budget_warns_with_the_knob_that_fixes_it(tmp_path: Path) -> None:
    out, _ = plan_output(tmp_path, "small", calls_per_minute=2)
    assert re.search(r"warning: PCN \d+: the plan needs \d+ calls a minute, over the budget of 2", out)
    assert "fix: raise extractor." in out or "fix: lower plex.poll-share" in out, out


@pytest.mark.slow
def test_plan_at_the_large_scale_fits_the_budget_in_steady_state(tmp_path: Path) -> None:
    out, rows = plan_output(tmp_path, "large")
    assert rows["workcenter_control_status"] == pytest.approx(6.0, abs=0.01), "3% of 200 a minute"
    share = float(re.search(r"([\d.]+)% of the budget", out)[1])  # type: ignore[index]
    assert share <= 10.0, f"the large plant's steady state takes {share}% of the budget:\n{out}"
