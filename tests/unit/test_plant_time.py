"""Plant time: days cut at the plant's local midnight (23 and 25 hours when the clocks change), shifts on the
local wall clock (a night shift ends the next day), and the configuration that names them."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from plex_cdf.config import ConfigError, load_config
from plex_cdf.domains.resource import DataSourceWindow, TimeRange, Window
from plex_cdf.plant import (
    UTC_PLANT,
    PlantTime,
    Shift,
    day_range,
    day_start,
    local_days,
    read_local,
    shift_days,
    shift_periods,
    wall_clock,
)
from plex_cdf.windows import plan
from tests.unit.test_config import MINIMAL, merged

DETROIT = ZoneInfo("America/Detroit")
BERLIN = ZoneInfo("Europe/Berlin")
HOUR = timedelta(hours=1)


def hours(span: TimeRange | Any) -> float:
    return float((span.end - span.begin) / HOUR)


def test_an_ordinary_plant_day_runs_from_local_midnight_for_24_hours() -> None:
    day = day_range(date(2026, 6, 10), DETROIT)
    assert day.begin == datetime(2026, 6, 10, 4, tzinfo=UTC), "EDT midnight is 04:00 UTC"
    assert hours(day) == 24


@pytest.mark.parametrize(
    ("zone", "day", "length"),
    [
        (DETROIT, date(2026, 3, 8), 23),  # spring forward
        (DETROIT, date(2026, 11, 1), 25),  # fall back
        (BERLIN, date(2026, 3, 29), 23),
        (BERLIN, date(2026, 10, 25), 25),
    ],
)
def test_the_days_the_clocks_change_are_23_and_25_hours_long(zone: ZoneInfo, day: date, length: int) -> None:
    assert hours(day_range(day, zone)) == length


def test_windows_over_a_dst_change_are_whole_local_days_without_a_gap_or_overlap() -> None:
    begin = datetime(2026, 10, 31, 15, tzinfo=UTC)
    end = datetime(2026, 11, 3, 12, tzinfo=UTC)
    windows = list(local_days(begin, end, DETROIT))
    assert windows[0].begin == datetime(2026, 10, 31, 4, tzinfo=UTC), (
        "the first window starts at local midnight"
    )
    assert [hours(w) for w in windows[:3]] == [24, 25, 24]
    assert all(a.end == b.begin for a, b in itertools.pairwise(windows))
    assert windows[-1].end == end, "the last window is the day so far"
    assert all(w.begin == day_start(w.begin, DETROIT) for w in windows)


def test_utc_is_the_default_and_keeps_utc_midnights() -> None:
    begin, end = datetime(2026, 3, 7, 5, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC)
    windows = list(local_days(begin, end, UTC_PLANT.zone))
    assert [w.begin.hour for w in windows] == [0, 0, 0] and [hours(w) for w in windows] == [24, 24, 24]


def test_a_resource_with_plant_days_gets_local_days_and_the_others_keep_their_spans() -> None:
    begin, end = datetime(2026, 3, 7, 12, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC)
    detroit = PlantTime(DETROIT)
    daily = list(plan(begin, end, DataSourceWindow("Start_Date", "End_Date", plant_days=True), detroit))
    assert [hours(w) for w in daily[:2]] == [24, 23]
    plain = list(plan(begin, end, Window("beginDate", "endDate"), detroit))
    assert plain[0].begin == datetime(2026, 3, 7, tzinfo=UTC), "history windows stay on UTC day multiples"


NIGHT = Shift("Night", time(22), time(6))
DAY_SHIFT = Shift("Day", time(6), time(14), frozenset(range(5)))


def test_a_night_shift_starts_on_its_day_and_ends_the_next_morning() -> None:
    [(shift, period)] = shift_periods(date(2026, 6, 13), PlantTime(DETROIT, (NIGHT, DAY_SHIFT)))  # a Saturday
    assert shift is NIGHT, "the weekday-only day shift does not run on Saturday"
    assert period.begin == datetime(2026, 6, 14, 2, tzinfo=UTC)
    assert period.end == datetime(2026, 6, 14, 10, tzinfo=UTC)


@pytest.mark.parametrize(("day", "length"), [(date(2026, 3, 7), 7), (date(2026, 10, 31), 9)])
def test_a_night_shift_over_a_clock_change_is_an_hour_shorter_or_longer(day: date, length: int) -> None:
    [(_, period)] = shift_periods(day, PlantTime(DETROIT, (NIGHT,)))
    assert hours(period) == length


def test_a_wall_time_the_clocks_skip_or_repeat_is_read_once() -> None:
    skipped = wall_clock(date(2026, 3, 8), time(2, 30), DETROIT)
    assert skipped == datetime(2026, 3, 8, 7, 30, tzinfo=UTC), (
        "02:30 does not exist: read with EST, 03:30 EDT"
    )
    repeated = wall_clock(date(2026, 11, 1), time(1, 30), DETROIT)
    assert repeated == datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "01:30 happens twice: the first (EDT) one"


def test_a_zone_less_date_is_read_on_the_plant_clock() -> None:
    assert read_local(datetime(2026, 1, 15, 6, 30), DETROIT) == datetime(2026, 1, 15, 11, 30, tzinfo=UTC)
    assert read_local(datetime(2026, 7, 15, 6, 30), DETROIT) == datetime(2026, 7, 15, 10, 30, tzinfo=UTC)


# --- configuration --------------------------------------------------------------------------------------


def config_with(tmp_path: Path, plant: dict[str, Any]) -> Path:
    tenant = {**MINIMAL["plex"]["tenants"][0], "plant": plant}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(merged(MINIMAL, {"plex": {"tenants": [tenant]}})), encoding="utf-8")
    return path


def test_a_tenant_without_a_plant_section_is_on_utc_without_shifts(tmp_path: Path) -> None:
    config = load_config(config_with(tmp_path, {}), {}, dotenv=None)
    assert config.plex.tenants[0].plant.plant_time() == UTC_PLANT


def test_a_plant_time_zone_and_shift_calendar_are_read(tmp_path: Path) -> None:
    plant = {
        "time-zone": "America/Detroit",
        "shifts": [
            {"name": "Day", "start": "06:00", "end": "14:00", "days": ["mon", "tue", "wed", "thu", "fri"]},
            {"name": "Night", "start": "22:00", "end": "06:00"},
        ],
    }
    got = load_config(config_with(tmp_path, plant), {}, dotenv=None).plex.tenants[0].plant.plant_time()
    assert got == PlantTime(DETROIT, (DAY_SHIFT, NIGHT))


@pytest.mark.parametrize(
    ("plant", "expected"),
    [
        ({"time-zone": "Detroit"}, "plex.tenants[0].plant: unknown time zone 'Detroit': give an IANA name"),
        (
            {"shifts": [{"name": "A", "start": "6am", "end": "14:00"}]},
            "plex.tenants[0].plant.shifts[0]: start is not a local time like 06:00 or 22:30, got '6am'",
        ),
        (
            {"shifts": [{"name": "A", "start": "06:00", "end": "06:00"}]},
            "plex.tenants[0].plant.shifts[0]: shift 'A': start and end are both 06:00",
        ),
        (
            {"shifts": [{"name": "A", "start": "06:00", "end": "14:00", "days": ["monday"]}]},
            "plex.tenants[0].plant.shifts[0]: shift 'A': days must be among mon, tue",
        ),
        (
            {
                "shifts": [
                    {"name": "A", "start": "06:00", "end": "14:00"},
                    {"name": "A", "start": "14:00", "end": "22:00"},
                ]
            },
            "plex.tenants[0].plant: shift 'A' is named more than once",
        ),
    ],
)
def test_a_bad_plant_section_is_one_line_naming_the_culprit(
    tmp_path: Path, plant: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(config_with(tmp_path, plant), {}, dotenv=None)
    message = str(caught.value)
    assert "\n" not in message and expected in message, message


def test_shift_days_run_from_the_earliest_shift_start_and_follow_the_clock_change() -> None:
    plant = PlantTime(DETROIT, (DAY_SHIFT, NIGHT, Shift("Swing", time(14), time(22))))
    begin, end = datetime(2026, 10, 31, 9, tzinfo=UTC), datetime(2026, 11, 2, 20, tzinfo=UTC)
    windows = list(shift_days(begin, end, plant))
    assert windows[0].begin == datetime(2026, 10, 30, 10, tzinfo=UTC), "06:00 EDT the day before"
    assert [hours(w) for w in windows[:3]] == [24, 25, 24], "the shift day over the fall-back night is 25 h"
    assert list(shift_days(begin, end, PlantTime(DETROIT))) == [], "no shifts, no shift days"
