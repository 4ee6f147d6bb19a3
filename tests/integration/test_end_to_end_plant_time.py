"""End to end on a plant clock: the medium plant with its tenant in America/Detroit and three shifts.

The simulated Plex then sends data-source dates as local text without a zone, as such a tenant's do, and
the configuration names the same zone and shifts. What CDF holds after a cold run equals the product's
pure pipeline over the ground truth on the same plant clock, daily OEE points sit at Detroit midnights,
per-shift points at the shifts' starts, and data-source dates were read on the plant clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from plex_cdf.app import cdf_settings
from plex_cdf.cdf.client import build_client
from plex_cdf.cli import extract
from plex_cdf.demo import DEMO_PCN, local_world
from plex_cdf.ops import setup
from plex_cdf.plant import day_start
from tests.integration.test_end_to_end import Snapshot, differences, snapshot
from tests.integration.truth import Expected, expected_objects

ZONE = "America/Detroit"
DETROIT = ZoneInfo(ZONE)
PLANT = {
    "time-zone": ZONE,
    "shifts": [
        {"name": "Day", "start": "06:00", "end": "14:00"},
        {"name": "Swing", "start": "14:00", "end": "22:00"},
        {"name": "Night", "start": "22:00", "end": "06:00"},
    ],
}


@dataclass
class PlantRun:
    expected: Expected
    cdf: Snapshot
    checksheet_dates: list[str]


@pytest.fixture(scope="module")
def plant_run() -> Iterator[PlantRun]:
    with local_world(scale="medium", calls_per_minute=100_000, plant=PLANT) as world:
        client = build_client(cdf_settings(world.config))
        asyncio.run(setup(world.config, client))
        asyncio.run(extract(world.config, once=True, clock=world.clock, client=client))
        plant = world.config.plex.tenants[0].plant.plant_time()
        assert plant.zone == DETROIT and len(plant.shifts) == 3
        expected = expected_objects(
            world.sim, DEMO_PCN, world.clock, world.config.extractor.first_run_reach, plant=plant
        )
        now = world.clock()
        inputs = {"Start_Date": f"{now:%Y-%m-%d}T00:00:00Z", "End_Date": f"{now:%Y-%m-%dT%H:%M:%S}Z"}
        sheets = world.sim.truth.datasource(4142, inputs)
        yield PlantRun(expected, snapshot(world.cdf), [row["Checksheet_Date"] for row in sheets])


def test_a_cold_run_on_a_plant_clock_leaves_cdf_equal_to_the_tenant(plant_run: PlantRun) -> None:
    problems = differences(plant_run.expected, plant_run.cdf)
    assert not problems, f"{len(problems)} differences, first: {problems[:10]}"


def test_daily_oee_points_sit_at_the_plants_local_midnight(plant_run: PlantRun) -> None:
    stamps = {t for xid, pts in plant_run.cdf.points.items() if "_oee_daily_" in xid for t, _ in pts}
    assert stamps, "no daily OEE points"
    for stamp in stamps:
        instant = datetime.fromtimestamp(stamp / 1000, tz=UTC)
        assert instant == day_start(instant, DETROIT), f"a daily point at {instant}, not a Detroit midnight"
        assert instant.hour in (4, 5), "Detroit midnight is 04:00 or 05:00 UTC"


def test_per_shift_points_sit_at_the_shifts_local_starts(plant_run: PlantRun) -> None:
    stamps = {t for xid, pts in plant_run.cdf.points.items() if "_availability_shift_" in xid for t, _ in pts}
    assert stamps, "no per-shift availability points"
    hours = {datetime.fromtimestamp(t / 1000, tz=UTC).astimezone(DETROIT).hour for t in stamps}
    assert hours <= {6, 14, 22} and len(hours) == 3, f"per-shift points at local hours {sorted(hours)}"


def test_the_simulated_tenant_sends_data_source_dates_as_local_text(plant_run: PlantRun) -> None:
    assert plant_run.checksheet_dates, "no checksheets today; the check would prove nothing"
    assert all(not d.endswith("Z") and d[2] == "/" for d in plant_run.checksheet_dates), (
        plant_run.checksheet_dates[:3]
    )
