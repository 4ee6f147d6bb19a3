"""Window planning: every instant between the start and now is covered exactly once."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from plex_cdf.windows import floor_to, split, window_start

T0 = datetime(2026, 3, 1, 5, 30, tzinfo=UTC)


def test_first_run_reaches_back_the_configured_span() -> None:
    assert window_start(None, T0, timedelta(hours=2), timedelta(days=7)) == T0 - timedelta(days=7)


def test_later_runs_start_at_the_watermark_less_the_lookback() -> None:
    assert window_start(T0, T0 + timedelta(hours=5), timedelta(hours=2), timedelta(days=7)) == T0 - timedelta(
        hours=2
    )


def test_aligned_windows_cover_whole_days() -> None:
    windows = list(split(T0, T0 + timedelta(days=2), timedelta(days=1), align=timedelta(days=1)))
    assert windows[0].begin == datetime(2026, 3, 1, tzinfo=UTC)
    assert all(w.begin.hour == 0 for w in windows)
    assert windows[-1].end == T0 + timedelta(days=2)


def test_floor_to_day() -> None:
    assert floor_to(T0, timedelta(days=1)) == datetime(2026, 3, 1, tzinfo=UTC)


@given(
    st.integers(min_value=0, max_value=10**7),
    st.integers(min_value=1, max_value=2 * 10**5),
    st.integers(min_value=60, max_value=10**6),
    st.booleans(),
)
def test_windows_tile_the_range_without_gaps_or_overlaps(
    start_s: int, length_s: int, span_s: int, align: bool
) -> None:
    begin = T0 + timedelta(seconds=start_s)
    end = begin + timedelta(seconds=length_s)
    step = timedelta(seconds=span_s)
    windows = list(split(begin, end, step, align=step if align else None))
    assert windows, "a non-empty range must give at least one window"
    assert windows[0].begin <= begin
    assert windows[-1].end == end
    for left, right in pairwise(windows):
        assert left.end == right.begin, "windows must meet exactly: no gap, no overlap"
    assert all(w.begin < w.end for w in windows)
    assert all(w.end - w.begin <= step for w in windows)
