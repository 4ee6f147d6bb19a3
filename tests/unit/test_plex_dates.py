"""Plex date rules: what we send (UTC, literal Z, at most 7 fraction digits) and what we accept back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plex_cdf.plex import dates
from plex_cdf.plex.dates import format_plex_datetime, parse_datasource_datetime, parse_plex_datetime

AT = datetime(2024, 3, 1, 18, 30, tzinfo=UTC)


# Near-canonical texts: each position a digit or one of the separators, so the fast path's shape check
# meets months 13, seconds 60, Unicode digits, commas and ten-digit fractions as well as good dates.
_CHARS = st.sampled_from("0123456789") | st.sampled_from("-T:.Z,+ 9\u0661")
_NEAR = st.lists(_CHARS, min_size=18, max_size=32).map("".join)
_SHAPED = st.builds(
    lambda d, frac, digits: f"{d:%Y-%m-%dT%H:%M:%S}{'.' + digits if frac else ''}Z",
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.booleans(),
    st.text(alphabet="0123456789", min_size=1, max_size=9),
)


def _outcome(parse: Callable[[str], datetime], text: str) -> datetime | str:
    try:
        return parse(text)
    except ValueError:
        return "refused"


_ANY_DIGITS = st.builds(
    lambda d, frac: "{}{}{}{}-{}{}-{}{}T{}{}:{}{}:{}{}".format(*d) + (f".{frac}" if frac else "") + "Z",
    st.lists(st.sampled_from("0123456789"), min_size=14, max_size=14),
    st.text(alphabet="0123456789", max_size=10),
)


@given(_SHAPED | _ANY_DIGITS | _NEAR)
def test_the_fast_path_for_the_usual_form_reads_every_text_as_the_lenient_parser_does(text: str) -> None:
    assert _outcome(parse_plex_datetime, text) == _outcome(dates._lenient, text)  # the regex alone


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (AT, "2024-03-01T18:30:00Z"),
        (AT.replace(microsecond=120000), "2024-03-01T18:30:00.12Z"),
        (AT.replace(tzinfo=None), "2024-03-01T18:30:00Z"),
        (AT.astimezone(timezone(timedelta(hours=-5))), "2024-03-01T18:30:00Z"),
    ],
)
def test_we_send_utc_with_a_literal_z(value: datetime, text: str) -> None:
    assert format_plex_datetime(value) == text


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-01T18:30Z",
        "2024-03-01T18:30:00Z",
        "2024-03-01T18:30:00.0000000Z",
        "2024-03-01T18:30:00.000000000Z",
        "2024-03-01T18:30:00+00:00",
        "2024-03-01T13:30:00-05:00",
        "2024-03-01 18:30:00",
        " 2024-03-01T18:30:00z ",
    ],
)
def test_we_accept_every_spelling_plex_sends(text: str) -> None:
    assert parse_plex_datetime(text) == AT


def test_a_date_alone_is_midnight_utc_and_garbage_is_named() -> None:
    assert parse_plex_datetime("2024-03-01") == datetime(2024, 3, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="'yesterday'"):
        parse_plex_datetime("yesterday")


@pytest.mark.parametrize(
    "text",
    ["2024-03-01T18:30:00.000Z", "03/01/2024 06:30:00 PM", "Mar  1 2024  6:30PM", "03/01/2024 6:30 PM"],
)
def test_data_source_outputs_also_come_in_us_text(text: str) -> None:
    assert parse_datasource_datetime(text) == AT


def test_a_data_source_date_alone_and_garbage() -> None:
    assert parse_datasource_datetime("03/01/2024") == datetime(2024, 3, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="'13/45/2024'"):
        parse_datasource_datetime("13/45/2024")


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "1970-01-01T00:00:00.000+00:00"),
        (-1, "1969-12-31T23:59:59.999+00:00"),
        (1_764_480_000_123, "2025-11-30T05:20:00.123+00:00"),
        (-62_135_596_800_000, "0001-01-01T00:00:00.000+00:00"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999+00:00"),  # a float division gave .998
    ],
)
def test_epoch_ms_become_data_modeling_timestamps_to_the_millisecond(ms: int, text: str) -> None:
    assert dates.iso_utc(ms) == text


@given(st.integers(min_value=-62_135_596_800_000, max_value=253_402_300_799_999))
def test_epoch_ms_format_as_an_aware_datetime_would_to_the_millisecond(ms: int) -> None:
    aware = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    assert dates.iso_utc(ms) == aware.isoformat(timespec="milliseconds")


def test_an_instant_past_the_year_9999_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="253402300800000 ms from 1970 is outside the years 1-9999"):
        dates.iso_utc(253_402_300_800_000)
