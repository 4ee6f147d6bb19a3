"""Data Source answers: both shapes, every row-limit flag spelling, window halving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from plex_cdf.domains.resource import TimeRange
from plex_cdf.plex.datasource import UnexpectedShape, read_answer, split_window


def test_format_2_rows_are_objects() -> None:
    answer = read_answer({"outputs": {}, "rows": [{"A": 1}], "transactionNo": "9", "rowLimitExceeded": False})
    assert answer.rows == [{"A": 1}]
    assert answer.transaction_no == "9" and not answer.row_limit_hit


def test_default_shape_zips_columns_and_rows() -> None:
    body = {"outputs": {"X": 1}, "tables": [{"columns": ["A", "B"], "rows": [[1, "x"], [2, None]]}]}
    answer = read_answer(body)
    assert answer.rows == [{"A": 1, "B": "x"}, {"A": 2, "B": None}]
    assert answer.outputs == {"X": 1}


def test_columns_given_as_objects_are_read_by_name() -> None:
    body = {"tables": [{"columns": [{"name": "A"}], "rows": [[1]]}]}
    assert read_answer(body).rows == [{"A": 1}]


def test_only_direct_outputs_means_no_rows() -> None:
    assert read_answer({"outputs": {"Result": 0}, "tables": []}).rows == []


@pytest.mark.parametrize(
    "body",
    [
        {"rows": [], "rowLimitExceeded": True},
        {"rows": [], "rowLimitedExceeded": True},
        {"rows": [], "limitExceeded": True},
        {"tables": [{"columns": [], "rows": [], "limitExceeded": True}]},
        {"tables": [{"columns": [], "rows": []}], "rowLimitedExceeded": True},
    ],
)
def test_every_spelling_of_the_row_limit_flag_is_seen(body: dict[str, object]) -> None:
    assert read_answer(body).row_limit_hit


def test_a_body_in_neither_shape_is_refused_with_the_reason() -> None:
    with pytest.raises(UnexpectedShape, match="neither 'rows' nor 'tables'"):
        read_answer({"outputs": {}})
    with pytest.raises(UnexpectedShape, match="2 columns"):
        read_answer({"tables": [{"columns": ["A", "B"], "rows": [[1]]}]})


def test_split_halves_a_window_without_gap_or_overlap() -> None:
    begin = datetime(2024, 1, 1, tzinfo=UTC)
    window = TimeRange(begin, begin + timedelta(days=1, seconds=1))
    halves = split_window(window)
    assert halves is not None
    left, right = halves
    assert (left.begin, left.end, right.end) == (window.begin, right.begin, window.end)
    assert left.end - left.begin == timedelta(hours=12)


def test_a_window_under_two_seconds_cannot_be_split() -> None:
    begin = datetime(2024, 1, 1, tzinfo=UTC)
    assert split_window(TimeRange(begin, begin + timedelta(milliseconds=1999))) is None
