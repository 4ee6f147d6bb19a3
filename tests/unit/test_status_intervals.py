"""Workcenter status as intervals: each entry from its logDate for `duration` seconds (or to the next
entry), downtime as its own events with the status as reason, the status over time as a string series, and
time inside a plant day clipped at its bounds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from plex_cdf.domains import production as prod
from plex_cdf.domains.resource import Context, TimeRange
from plex_cdf.domains.status import DURATION_MS_PER_UNIT, status_intervals, time_in
from plex_cdf.items import Datapoints, Event, Item, TimeSeries
from plex_cdf.runner import dedupe
from tests.unit.fixtures.plex_ivq import PCN, load

WC = "7e1d0c2b-9a8f-4e6d-8c5b-4a3f2e1d0c01"
STATUSES = load("workcenter_statuses")
WINDOW = TimeRange(datetime(2026, 11, 27, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC))
ROW = next(r for r in prod.RESOURCES if r.name == "workcenter_status_entries")


def ms(hour: float, day: int = 27) -> int:
    return int(datetime(2026, 11, day, tzinfo=UTC).timestamp() * 1000 + hour * 3_600_000)


def entry(at: str, status: str, duration: int | None) -> dict[str, Any]:
    return {
        "workcenterId": WC,
        "workcenterCode": "WC-A",
        "logDate": at,
        "workcenterStatus": status,
        "duration": duration,
    }


def run(records: list[dict[str, Any]]) -> list[Item]:
    ctx = Context(
        PCN, ROW.name, datetime(2026, 11, 28, tzinfo=UTC), WINDOW, {"workcenter_statuses": STATUSES}
    )
    items = [i for r in records for i in ROW.transform(r, ctx)]
    assert ROW.finish is not None
    return dedupe([*items, *ROW.finish(records, ctx)])


def events(items: list[Item], kind: str) -> list[Event]:
    return sorted(
        (i for i in items if isinstance(i, Event) and i.type == kind), key=lambda e: e.start_time or 0
    )


def test_duration_is_seconds() -> None:
    assert DURATION_MS_PER_UNIT == 1000, "the OpenAPI document gives workcenter-status duration in seconds"


def test_a_status_entry_is_an_interval_of_its_duration_in_seconds() -> None:
    [event] = events(run([entry("2026-11-27T03:00:00Z", "Production", 5400)]), "workcenter_status")
    assert (event.start_time, event.end_time) == (ms(3), ms(4.5))
    assert event.metadata["status"] == "Production" and event.metadata["statusClass"] == "production"
    assert event.metadata["durationUnit"] == "s"


def test_an_entry_without_a_duration_ends_where_the_next_one_begins_and_the_last_stays_open() -> None:
    items = run(
        [entry("2026-11-27T03:00:00Z", "Setup", None), entry("2026-11-27T04:15:00Z", "Production", 0)]
    )
    first, last = events(items, "workcenter_status")
    assert first.end_time == ms(4.25), "the setup ran until production began"
    assert last.end_time is None, "the status still holds: an open interval"


def test_downtime_is_its_own_event_with_its_reason_and_other_statuses_are_not() -> None:
    items = run(
        [
            entry("2026-11-27T07:00:00Z", "Down - Maintenance", 1800),
            entry("2026-11-27T07:30:00Z", "Production", 3600),
            entry("2026-11-27T08:30:00Z", "Idle", 600),
        ]
    )
    [down] = events(items, "downtime")
    assert (down.start_time, down.end_time) == (ms(7), ms(7.5))
    assert down.metadata["reason"] == "Down - Maintenance"
    assert down.external_id.startswith(f"PCN{PCN}_downtime_")
    assert f"PCN{PCN}_workcenter_WC-A" in down.asset_external_ids


def test_an_unknown_status_keeps_its_event_but_makes_no_downtime() -> None:
    items = run([entry("2026-11-27T07:00:00Z", "Lunch", 1800)])
    [event] = events(items, "workcenter_status")
    assert "statusClass" not in event.metadata and not events(items, "downtime")


def test_the_status_over_time_is_a_string_step_series_per_workcenter() -> None:
    items = run(
        [entry("2026-11-27T03:00:00Z", "Setup", 3600), entry("2026-11-27T04:00:00Z", "Production", 60)]
    )
    [series] = [i for i in items if isinstance(i, TimeSeries)]
    assert series.external_id == f"PCN{PCN}_wc_status_history_{WC}" and series.is_string and series.is_step
    [points] = [i for i in items if isinstance(i, Datapoints)]
    assert points.points == ((ms(3), "Setup"), (ms(4), "Production"))


def test_time_inside_a_day_is_clipped_at_its_bounds() -> None:
    entries = [
        entry("2026-11-26T22:00:00Z", "Production", 4 * 3600),  # 2 h before midnight, 2 h after
        entry("2026-11-27T02:00:00Z", "Down - Maintenance", 3600),
        entry("2026-11-27T23:00:00Z", "Production", 3 * 3600),  # 1 h inside, 2 h into the next day
        entry("2026-11-27T12:00:00Z", "Idle", 3600),  # not planned
    ]
    spent = time_in(status_intervals(entries, STATUSES), ms(0), ms(24))[WC]
    assert (spent.planned, spent.down, spent.run) == (4 * 3_600_000, 3_600_000, 3 * 3_600_000)


def test_a_record_its_own_transform_refuses_leaves_the_others_aggregates_whole() -> None:
    """Found by the slow property test: an entry without a duration whose part id is a list made the
    status history step fail for the whole window, losing the good entries' series with it."""
    bad = {**entry("2026-11-27T02:00:00Z", "Setup", None), "partId": []}
    good = entry("2026-11-27T03:00:00Z", "Production", 5400)
    ctx = Context(
        PCN, ROW.name, datetime(2026, 11, 28, tzinfo=UTC), WINDOW, {"workcenter_statuses": STATUSES}
    )
    assert ROW.finish is not None
    aggregates = list(ROW.finish([bad, good], ctx))
    [series_points] = [i for i in aggregates if isinstance(i, Datapoints)]
    assert (ms(3), "Production") in series_points.points
    assert not [i for i in aggregates if isinstance(i, Event) and "02:00" in str(i.metadata)]
