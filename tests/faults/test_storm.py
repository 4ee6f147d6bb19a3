"""A storm on both sides: Plex answers 30 % 429 and 10 % 5xx while CDF answers 20 % 429 and 5 % 5xx. The
backfill still completes, and CDF ends equal to the tenant's production history."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.world import (
    DATA_MODELING,
    compare_with_cdf,
    compare_with_instances,
    history_span,
    prefixed_assets,
    production_truth,
    run_cli,
    world,
)

KINDS = ("production", "scrap", "workcenter_status", "downtime", "labor")
FAULT_PATHS = "/production/v1/production-history/"


def backfill_in_a_storm(tmp_path: Path, days: int, *, dm: bool = False) -> None:
    span = history_span(days=days)
    with world(tmp_path) as w:
        config = str(w.write_config(destination=DATA_MODELING) if dm else w.write_config())
        setup = run_cli("setup", "-c", config)
        assert setup.returncode == 0, setup.stderr
        setup_assets = prefixed_assets(w.cdf)
        w.sim.set_faults(fault_429=0.3, fault_5xx=0.1)
        w.cdf.set_faults(fault_429=0.2, fault_5xx=0.05)

        done = run_cli(
            "backfill", "--from", span.begin.isoformat(), "--to", span.end.isoformat(),
            "--only", "production", "-c", config, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, f"the backfill gave up in the storm:\n{done.stdout}\n{done.stderr}"

        plex_refused = [
            e for e in w.sim.request_log() if FAULT_PATHS in e[2] and e[4] in (429, 500, 502, 503)
        ]
        assert plex_refused, "the simulated Plex refused no history request: the storm did not happen"

        w.sim.set_faults(fault_429=0.0, fault_5xx=0.0)
        w.cdf.set_faults(fault_429=0.0, fault_5xx=0.0)
        expected = production_truth(w.sim, span)
        if dm:
            problems = compare_with_instances(w, expected, KINDS)
        else:
            problems = compare_with_cdf(w.cdf, expected, KINDS, setup_assets)
        assert problems == [], (
            f"after a backfill through the storm, CDF differs from Plex's {expected.records} history "
            "entries:\n" + "\n".join(problems)
        )


def test_a_half_day_backfill_through_a_storm_on_both_sides_completes_and_matches_plex(tmp_path: Path) -> None:
    backfill_in_a_storm(tmp_path, days=0)


def test_a_half_day_backfill_through_a_storm_on_the_data_modeling_target_matches_plex(tmp_path: Path) -> None:
    backfill_in_a_storm(tmp_path, days=0, dm=True)


@pytest.mark.slow
def test_a_ten_day_backfill_through_a_storm_on_both_sides_completes_and_matches_plex(tmp_path: Path) -> None:
    backfill_in_a_storm(tmp_path, days=10)
