"""Content hashes: what decides that a record has not changed and need not be written again.

A hash is sha256 over orjson with sorted keys of the item and the data set id it goes to, so a changed
data-set mapping rewrites too. Keys in the state are `{kind}:{external id}` (e.g. `asset:PCN1_part_7`),
so the runner's own hashes in the same resource never collide with the writer's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from plex_cdf.items import Datapoints, Item, RawRow

PENDING_SUFFIX = "~pending"  # written, but some asset links still wait for their assets
INACTIVE_PREFIX = "inactive:"  # flagged plex_active=false after vanishing from a snapshot


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else str(value)


def _digest(value: Any) -> str:
    encoded = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=_plain)
    return hashlib.sha256(encoded).hexdigest()


def content_hash(item: Item, data_set_id: int | None) -> str:
    """Stable across processes and runs; for a latest-only series only the latest value counts."""
    if isinstance(item, Datapoints) and item.latest_only:
        latest = max(item.points, default=None)
        return _digest(["latest", item.external_id, None if latest is None else latest[1]])
    if isinstance(item, RawRow):
        return _digest(["raw", item.table, item.key, dict(item.columns)])
    return _digest([type(item).__name__, item, data_set_id])
