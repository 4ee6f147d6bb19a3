"""Plex date rules: what we send (UTC, literal Z, at most 7 fraction digits) and what we accept back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from plex_cdf.plex.dates import format_plex_datetime, parse_datasource_datetime, parse_plex_datetime

AT = datetime(2024, 3, 1, 18, 30, tzinfo=UTC)


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
