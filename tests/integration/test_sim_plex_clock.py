"""The simulated Plex's clock modes and its date rules (what it accepts and how it writes dates)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from plex_cdf.sim.plex.clock import SimClock, parse_clock
from plex_cdf.sim.plex.timefmt import DateFormatError, emit, parse_strict

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_still_clock_stands_until_advanced() -> None:
    wall = [0.0]
    clock = SimClock(START, parse_clock("still"), monotonic=lambda: wall[0])
    wall[0] += 3600
    assert clock.now() == START, "a still clock moved with wall time"
    assert clock.advance(timedelta(hours=6)) == START + timedelta(hours=6)


@pytest.mark.parametrize(
    ("mode", "after_10s"), [("live", timedelta(seconds=10)), ("fast=60", timedelta(minutes=10))]
)
def test_live_and_fast_clocks_follow_wall_time(mode: str, after_10s: timedelta) -> None:
    wall = [0.0]
    clock = SimClock(START, parse_clock(mode), monotonic=lambda: wall[0])
    wall[0] += 10
    assert clock.now() == START + after_10s


def test_a_new_rate_continues_from_the_current_instant() -> None:
    wall = [0.0]
    clock = SimClock(START, parse_clock("live"), monotonic=lambda: wall[0])
    wall[0] += 10
    assert clock.set_rate(12.0) == START + timedelta(seconds=10)
    wall[0] += 10
    assert clock.now() == START + timedelta(seconds=130), "12 times faster after the change"


@pytest.mark.parametrize("bad", ["fast", "fast=0", "fast=x", "slow"])
def test_bad_clock_modes_are_named_in_the_error(bad: str) -> None:
    with pytest.raises(ValueError, match=repr(bad)):
        parse_clock(bad)


def test_the_clock_never_goes_back() -> None:
    with pytest.raises(ValueError, match="only moves forward"):
        SimClock(START).advance(timedelta(seconds=-1))


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1999-12-31T12:34Z", 946643640000),
        ("1999-12-31T12:34:56Z", 946643696000),
        ("1999-12-31T12:34:56.1234567Z", 946643696123),
    ],
)
def test_plex_date_forms_are_accepted(text: str, ms: int) -> None:
    assert parse_strict(text) == ms


@pytest.mark.parametrize(
    "text",
    [
        "1999-12-31",
        "1999-12-31T12:34",
        "1999-12-31 12:34Z",
        "1999-12-31T12:34:56.12345678Z",
        "1999-12-31T12:34:56+00:00",
        "1999-12-31T12Z",
        "1999-02-30T00:00Z",
        "1999-12-31T12:34:56.1z",
        "1999-12-31T12:34:56.Z",
    ],
)
def test_forms_plex_rejects_are_rejected(text: str) -> None:
    with pytest.raises(DateFormatError, match="1999"):
        parse_strict(text)


def test_emitted_dates_keep_their_value_at_every_width() -> None:
    widths = set()
    for style in range(8):
        for ms in (946643696000, 946643696100, 946643696120, 946643696123):
            text = emit(ms, style)
            assert parse_strict(text) == ms, f"{text} does not read back as {ms}"
            widths.add(len(text.rstrip("Z").partition(".")[2]))
    assert widths == set(range(8)), f"fraction widths {sorted(widths)}; Plex writes 0 to 7"
