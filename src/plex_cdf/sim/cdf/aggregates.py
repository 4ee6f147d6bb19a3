"""Datapoint aggregates over fixed buckets: average, min, max, count and sum of numeric series.

Buckets follow CDF's alignment: `start` is floored to the granularity's unit (1s, 1m, 1h or 1d, even for
e.g. "3h"), then buckets of the full granularity follow. Empty buckets are left out. Times are ms, UTC.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Mapping, Sequence

from plex_cdf.sim.cdf.errors import Json, bad_request

UNIT_MS: Mapping[str, int] = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
UNIT_NAMES: Mapping[str, str] = {
    "s": "s",
    "sec": "s",
    "second": "s",
    "m": "m",
    "t": "m",
    "min": "m",
    "minute": "m",
    "h": "h",
    "hour": "h",
    "d": "d",
    "day": "d",
}
GRANULARITY = re.compile(r"^(\d*)([a-z]+?)s?$")
MAX_AGGREGATE_LIMIT = 10_000

Reducer = Callable[[Sequence[float]], float]
REDUCERS: Mapping[str, Reducer] = {
    "average": lambda values: math.fsum(values) / len(values),
    "min": min,
    "max": max,
    "count": lambda values: float(len(values)),
    "sum": math.fsum,
}


def parse_granularity(text: object) -> tuple[int, int]:
    """(unit in ms, bucket width in ms) for e.g. "1h", "15m", "2day"; 400 for months, quarters, years."""
    found = GRANULARITY.match(str(text).lower()) if isinstance(text, str) else None
    unit = UNIT_NAMES.get(found.group(2)) if found else None
    if found is None or unit is None:
        raise bad_request(f"granularity: {text!r} is not supported by the local CDF (use s, m, h or d)")
    multiple = int(found.group(1) or 1)
    if multiple < 1:
        raise bad_request(f"granularity: {text!r} must be at least one unit")
    return UNIT_MS[unit], UNIT_MS[unit] * multiple


def check_aggregates(names: object) -> list[str]:
    if not isinstance(names, list) or not names:
        raise bad_request("aggregates: expected a non-empty list")
    unknown = [name for name in names if name not in REDUCERS]
    if unknown:
        raise bad_request(
            f"aggregates: {unknown} not supported by the local CDF (supported: {sorted(REDUCERS)})"
        )
    return [str(name) for name in names]


def buckets(
    stamps: list[int],
    points: Mapping[int, float | str],
    query: Json,
    window: tuple[int, int],
    limit: int,
) -> tuple[list[Json], int | None]:
    """Up to `limit` non-empty buckets in [start, end), and where the next bucket starts if more remain."""
    names = check_aggregates(query.get("aggregates"))
    unit_ms, width = parse_granularity(query.get("granularity"))
    start, end = window
    aligned = start - start % unit_ms
    index, stop = bisect.bisect_left(stamps, aligned), bisect.bisect_left(stamps, end)
    out: list[Json] = []
    while index < stop:
        bucket = aligned + (stamps[index] - aligned) // width * width
        if len(out) == limit:
            return out, bucket
        upper = bisect.bisect_left(stamps, min(bucket + width, end), index, stop)
        values = [float(points[ts]) for ts in stamps[index:upper]]
        finite = [v for v in values if not math.isnan(v)]
        if finite:
            out.append({"timestamp": bucket, **{name: REDUCERS[name](finite) for name in names}})
        index = upper
    return out, None
