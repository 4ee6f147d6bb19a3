"""Bad answers from Plex (a 200 with an empty body, an object where the list belongs, a 404 on a snapshot)
never count as "no data": nothing is lost, no watermark moves past them and nothing is falsely marked
inactive or zeroed. The real command line runs against both simulators; the simulator's bad-answer fault
injection stands for the probe's misbehaving Plex."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from plex_cdf.domains.production import RESOURCES as PRODUCTION_ROWS
from plex_cdf.domains.resource import Context, TimeRange
from plex_cdf.items import Event
from plex_cdf.plex.dates import format_plex_datetime
from plex_cdf.state.sqlite import SqliteStateStore
from tests.integration.conftest import WORLD_PCN, World

PRODUCTION = next(r for r in PRODUCTION_ROWS if r.name == "production_entries")


def _day_before(world: World) -> datetime:
    now: datetime = world.plex.clock.now()
    return now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)


def _entries_of_day(world: World, day: datetime) -> set[str]:
    """The production events Plex's entries of one day map to (external ids)."""
    params = {
        "beginDate": format_plex_datetime(day),
        "endDate": format_plex_datetime(day + timedelta(days=1)),
    }
    rows = world.plex.truth.get(PRODUCTION.path, params)
    assert isinstance(rows, list) and rows, "the simulated plant books production every day"
    ctx = Context(pcn=WORLD_PCN, resource=PRODUCTION.name, now=day, window=TimeRange(day, day))
    return {i.external_id for r in rows for i in PRODUCTION.transform(r, ctx) if isinstance(i, Event)}


def _events_in_cdf(world: World) -> set[str]:
    return {str(e.get("externalId")) for e in world.cdf.store.events()}


@pytest.mark.parametrize("kind", ["empty", "object"])
def test_a_bad_200_on_one_production_day_fails_the_resource_and_the_next_run_brings_the_day(
    world_pair: World, world_config: Path, kind: str
) -> None:
    world = world_pair
    world.setup(world_config)
    day = _day_before(world)
    world.plex.inject_bad_answer(PRODUCTION.path, kind, query=f"beginDate={format_plex_datetime(day)}")

    spoiled = world.cli("run", "--once", "--only", "production", "-c", str(world_config))

    assert spoiled.returncode == 1, spoiled.stdout + spoiled.stderr
    said = spoiled.stdout + spoiled.stderr
    assert "production_entries" in said and ("empty body" in said or "JSON object" in said), said
    state = SqliteStateStore(world.state_path)
    try:
        assert state.get_watermark(WORLD_PCN, PRODUCTION.name) is None  # the first run's windows stay open
    finally:
        state.close()
    expected = _entries_of_day(world, day)
    assert not expected <= _events_in_cdf(world)

    world.plex.clear_bad_answers()
    healed = world.cli("run", "--once", "--only", "production", "-c", str(world_config))

    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert expected <= _events_in_cdf(world)


CONTAINERS = "/inventory/v1/inventory-tracking/containers"


def _inventory_view(world: World) -> tuple[set[str], dict[str, object]]:
    """(containers flagged inactive, each WIP series' latest value) as CDF holds them."""
    inactive = {
        str(a.get("externalId"))
        for a in world.cdf.store.assets()
        if (a.get("metadata") or {}).get("plexActive") == "false"
    }
    wip = {}
    for series in world.cdf.store.time_series():
        xid = str(series.get("externalId"))
        points = world.cdf.store.datapoints(xid)
        if "_wip_" in xid and points:
            wip[xid] = max(points)[1]
    return inactive, wip


@pytest.mark.parametrize(("kind", "times"), [("404", 1), ("empty", 1)])
def test_a_bad_container_snapshot_marks_nothing_inactive_and_zeroes_no_wip(
    world_pair: World, world_config: Path, kind: str, times: int
) -> None:
    world = world_pair
    world.setup(world_config)
    first = world.cli("run", "--once", "--only", "master-data,inventory", "-c", str(world_config))
    assert first.returncode == 0, first.stdout + first.stderr
    inactive, wip = _inventory_view(world)
    assert wip and not inactive

    world.plex.inject_bad_answer(CONTAINERS, kind, times=times)
    again = world.cli("run", "--once", "--only", "inventory", "-c", str(world_config))

    assert again.returncode == 0, again.stdout + again.stderr
    assert _inventory_view(world) == (set(), wip)
