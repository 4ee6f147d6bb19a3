"""Content hashes: what decides that a record has not changed and need not be written again.

A hash is sha256 over orjson with sorted keys of the item and the data set id it goes to, so a changed
data-set mapping rewrites too. In the state, an asset, event, time series or relationship is keyed by its
external id exactly as the transform made it (so the runner can tell which records vanished from a
snapshot); datapoints by `datapoints:{series id}` and RAW rows by `raw:{table}/{key}`. The value starts with
the kind (`asset:3f2a...`), which is how `mark_inactive` knows what an external id is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from plex_cdf.items import Asset, Datapoints, Event, Item, RawRow, Relationship, TimeSeries

POINTS_PREFIX = "datapoints:"
NOT_OBJECT_PREFIXES = (
    POINTS_PREFIX,
    "raw:",
)  # state keys of points and RAW rows; the others are external ids
PENDING_SUFFIX = "~pending"  # written, but some asset links still wait for their assets
INACTIVE_PREFIX = "inactive:"  # flagged plexActive=false after vanishing from a snapshot


KIND_OF: Mapping[type, str] = {
    Asset: "asset",
    TimeSeries: "timeseries",
    Event: "event",
    Relationship: "relationship",
    Datapoints: "datapoints",
    RawRow: "raw",
}


def kind_of(item: Item) -> str:
    return KIND_OF[type(item)]


def kind_of_hash(value: str) -> str:
    """The kind a stored hash belongs to (`asset`, `event`, ...), whatever its state."""
    return value.removeprefix(INACTIVE_PREFIX).split(":", 1)[0]


def state_key(item: Item) -> str:
    if isinstance(item, RawRow):
        return f"raw:{item.table}/{item.key}"
    if isinstance(item, Datapoints):
        suffix = f"@{item.segment}" if item.segment else ""
        return f"{POINTS_PREFIX}{item.external_id}{suffix}"
    return item.external_id


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else str(value)


def _digest(value: Any) -> str:
    encoded = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=_plain)
    return hashlib.sha256(encoded).hexdigest()


def content_hash(item: Item, data_set_id: int | None) -> str:
    """`{kind}:{sha256}`, stable across processes and runs; for a latest-only series only the latest value
    counts."""
    if isinstance(item, Datapoints) and item.latest_only:
        latest = max(item.points, default=None)
        digest = _digest(["latest", item.external_id, None if latest is None else latest[1]])
    elif isinstance(item, RawRow):
        digest = _digest(["raw", item.table, item.key, dict(item.columns)])
    else:
        digest = _digest([type(item).__name__, item, data_set_id])
    return f"{kind_of(item)}:{digest}"


def vanished_since(hashes: Mapping[str, str], kept: Iterable[Item]) -> tuple[list[str], list[str]]:
    """(object external ids, latest-only series ids) held in `hashes` that the `kept` items no longer make."""
    gone = set(hashes) - {state_key(item) for item in kept}
    objects = sorted(k for k in gone if not k.startswith(NOT_OBJECT_PREFIXES))
    series = sorted(
        k.removeprefix(POINTS_PREFIX) for k in gone if k.startswith(POINTS_PREFIX) and "@" not in k
    )
    return objects, series
