"""Datapoints: insert (JSON, or protobuf, the only body that may carry state points), retrieve (protobuf when
asked, JSON otherwise), latest and delete ranges.

Timestamps are milliseconds since the Unix epoch, UTC; the end of a range is exclusive, as in CDF.
"""

from __future__ import annotations

import base64
import bisect
import math
from collections.abc import Iterable
from typing import Any

from cognite.client._proto.data_point_list_response_pb2 import (
    TIMESERIES_TYPE_NUMERIC,
    TIMESERIES_TYPE_STATE,
    TIMESERIES_TYPE_STRING,
    DataPointListItem,
    DataPointListResponse,
)

from plex_cdf.sim.cdf import aggregates, resources
from plex_cdf.sim.cdf.dms import states
from plex_cdf.sim.cdf.dms.instances import series_for_instance
from plex_cdf.sim.cdf.errors import CdfError, Json, bad_request, missing
from plex_cdf.sim.cdf.keys import check_item_keys, check_keys, unsupported
from plex_cdf.sim.cdf.store import Series, Store, Value, now_ms

MAX_SERIES_PER_REQUEST = 10_000
MAX_POINTS_PER_REQUEST = 100_000
MAX_RAW_LIMIT = 100_000
DEFAULT_LIMIT = 100
MIN_TIMESTAMP = -2_208_988_800_000  # 1900-01-01T00:00:00Z
MAX_TIMESTAMP = 4_102_444_799_999  # 2099-12-31T23:59:59.999Z
MAX_NUMERIC = 1e100
MAX_STRING_BYTES = 1023
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
# What each request implements; anything else (targetUnit, timeZone, includeStatus, a point's status, ...)
# is refused by name. instanceId names the time series of a CogniteTimeSeries node (see dms/).
IDENTIFIERS = frozenset({"id", "externalId", "instanceId"})
QUERY_KEYS = frozenset({"start", "end", "limit", "includeOutsidePoints", "aggregates", "granularity"})
RETRIEVE_KEYS = QUERY_KEYS | {"items", "ignoreUnknownIds"}
RETRIEVE_ITEM_KEYS = QUERY_KEYS | IDENTIFIERS | {"cursor"}
LATEST_KEYS = frozenset({"items", "ignoreUnknownIds"})
LATEST_ITEM_KEYS = IDENTIFIERS | {"before"}
POINT_KEYS = frozenset({"timestamp", "value"})


def _series_id(store: Store, item: Json, index: int) -> tuple[Json, int | None]:
    if "instanceId" in item and "id" not in item and "externalId" not in item:
        return {"instanceId": item["instanceId"]}, series_for_instance(
            store, item["instanceId"], f"items[{index}].instanceId"
        )
    ident = resources.identifier(item, index)
    return ident, store.time_series.resolve(ident)


def insert(store: Store, body: Json, sent_protobuf: bool = False) -> Json:
    """Points into the named series; a state series' points only from a protobuf body (below)."""
    check_keys(body, {"items"})
    items = resources.body_items(body, MAX_SERIES_PER_REQUEST)
    check_item_keys(items, IDENTIFIERS | {"datapoints"})
    total = sum(len(item.get("datapoints") or ()) for item in items)
    if total > MAX_POINTS_PER_REQUEST:
        raise bad_request(f"A request may hold at most {MAX_POINTS_PER_REQUEST} datapoints, got {total}")
    targets: list[tuple[int, list[tuple[int, Value]]]] = []
    absent: list[Json] = []
    seen: dict[int, Json] = {}
    repeated: list[Json] = []
    for index, item in enumerate(items):
        ident, internal = _series_id(store, item, index)
        if internal is None:
            absent.append(ident)
            continue
        if internal in seen:
            repeated.append(ident)
        seen[internal] = ident
        meta = store.time_series.items[internal]
        if states.is_state(meta):
            if not sent_protobuf:
                raise unsupported(states.JSON_INSERT)
            targets.append((internal, states.checked_points(store, meta, item.get("datapoints"), index)))
            continue
        targets.append((internal, _checked_points(item.get("datapoints"), bool(meta["isString"]), index)))
    if absent:
        raise missing(absent, "Time series not found")
    if repeated:
        raise CdfError(422, "The same time series appears more than once in one request", duplicated=repeated)
    for internal, points in targets:
        series = store.datapoints.setdefault(internal, Series())
        for timestamp, value in points:
            series.upsert(timestamp, value)
    return {}


def _checked_points(points: Any, is_string: bool, index: int) -> list[tuple[int, Value]]:
    if not isinstance(points, list) or not points:
        raise bad_request(f"items[{index}].datapoints: must be a non-empty list")
    checked: list[tuple[int, Value]] = []
    for n, point in enumerate(points):
        where = f"items[{index}].datapoints[{n}]"
        if not isinstance(point, dict):
            raise bad_request(f"{where}: expected an object with timestamp and value")
        check_keys(point, POINT_KEYS, f"{where}.")
        timestamp = point.get("timestamp")
        if not isinstance(timestamp, int) or isinstance(timestamp, bool):
            raise bad_request(f"{where}.timestamp: expected integer milliseconds, got {timestamp!r}")
        if not MIN_TIMESTAMP <= timestamp <= MAX_TIMESTAMP:
            raise bad_request(f"{where}.timestamp: {timestamp} is outside 1900-01-01 .. 2099-12-31")
        value = point.get("value")
        checked.append(
            (timestamp, _string_value(value, where) if is_string else _numeric_value(value, where))
        )
    return checked


def _string_value(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise bad_request(f"{where}.value: expected a string for a string time series, got {value!r}")
    if len(value.encode()) > MAX_STRING_BYTES:
        raise bad_request(f"{where}.value: string exceeds {MAX_STRING_BYTES} bytes")
    return value


def _numeric_value(value: Any, where: str) -> float:
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_request(f"{where}.value: expected a number for a numeric time series, got {value!r}")
    if abs(value) > MAX_NUMERIC:
        raise bad_request(f"{where}.value: {value} is outside ±1e100")
    return float(value)


def _time(value: Any, default: int, name: str) -> int:
    if value is None:
        return default
    if value == "now":
        return now_ms()
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):  # CDF also takes relative times such as "2d-ago"
        raise unsupported(f"{name} {value[:40]!r} (only integer milliseconds and 'now')")
    raise bad_request(f"{name}: expected integer milliseconds or 'now', got {value!r}")


def _encode_cursor(timestamp: int) -> str:
    return base64.urlsafe_b64encode(f"ts:{timestamp}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        tag, value = base64.urlsafe_b64decode(cursor.encode()).decode().split(":", 1)
        if tag != "ts":
            raise ValueError(tag)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"cursor: {cursor[:40]!r} is not a datapoints cursor") from exc


class Page:
    """One series' slice of a retrieve: raw points or aggregate buckets, and the cursor to the rest."""

    def __init__(
        self,
        meta: Json,
        points: list[tuple[int, Value]],
        next_cursor: str | None,
        buckets: list[Json] | None = None,
    ) -> None:
        self.meta = meta
        self.points = points
        self.next_cursor = next_cursor
        self.buckets = buckets


def _page(store: Store, internal: int, query: Json) -> Page:
    meta = store.time_series.items[internal]
    start = _time(query.get("start"), 0, "start")
    if query.get("cursor"):
        start = _decode_cursor(query["cursor"])
    end = _time(query.get("end"), now_ms(), "end")
    is_aggregate = bool(query.get("aggregates"))
    if is_aggregate and query.get("includeOutsidePoints"):
        raise bad_request("includeOutsidePoints: not allowed with aggregates")
    if not is_aggregate and query.get("granularity") is not None:
        raise bad_request("granularity: only allowed with aggregates")
    maximum = aggregates.MAX_AGGREGATE_LIMIT if is_aggregate else MAX_RAW_LIMIT
    limit = query.get("limit")
    limit = DEFAULT_LIMIT if limit is None else limit
    if not isinstance(limit, int) or not 0 <= limit <= maximum:
        raise bad_request(f"limit: must be between 0 and {maximum}, got {limit!r}")
    series = store.datapoints.get(internal) or Series()
    stamps = series.timestamps()
    if is_aggregate:
        if states.is_state(meta):
            raise bad_request("not supported by the local CDF: aggregates of state time series")
        if meta["isString"]:
            raise bad_request(
                f"aggregates: time series {meta.get('externalId') or meta['id']} is a string series"
            )
        found, resume = aggregates.buckets(stamps, series.points, query, (start, end), limit)
        return Page(meta, [], _encode_cursor(resume) if resume is not None else None, found)
    first, stop = bisect.bisect_left(stamps, start), bisect.bisect_left(stamps, end)
    last = min(stop, first + limit)
    picked = stamps[first:last]
    if query.get("includeOutsidePoints"):
        # CDF answers this shape at once: the point before, up to `limit` inside, the point after, no cursor.
        before = stamps[first - 1 : first] if first > 0 else []
        return Page(meta, [(ts, series.points[ts]) for ts in before + picked + stamps[stop : stop + 1]], None)
    next_cursor = _encode_cursor(stamps[last]) if last < stop and limit > 0 else None
    return Page(meta, [(ts, series.points[ts]) for ts in picked], next_cursor)


def _queries(store: Store, body: Json, item_keys: frozenset[str]) -> Iterable[tuple[int, Json]]:
    defaults = {k: body[k] for k in QUERY_KEYS if k in body}
    items = resources.body_items(body, MAX_SERIES_PER_REQUEST)
    check_item_keys(items, item_keys)
    absent: list[Json] = []
    found: list[tuple[int, Json]] = []
    for index, item in enumerate(items):
        query = {**defaults, **item}
        ident, internal = _series_id(store, {k: v for k, v in item.items() if k in IDENTIFIERS}, index)
        if internal is None:
            absent.append(ident)
        else:
            found.append((internal, query))
    if absent and not body.get("ignoreUnknownIds"):
        raise missing(absent, "Time series not found")
    return found


def retrieve_pages(store: Store, body: Json) -> list[Page]:
    check_keys(body, RETRIEVE_KEYS)
    return [_page(store, internal, query) for internal, query in _queries(store, body, RETRIEVE_ITEM_KEYS)]


def pages_to_json(store: Store, pages: list[Page]) -> Json:
    items = []
    for page in pages:
        item = _meta_json(page.meta)
        if page.buckets is not None:
            item["datapoints"] = page.buckets
        elif states.is_state(page.meta):
            names = states.states_of(store, page.meta)
            item["datapoints"] = [
                states.point_json(store, page.meta, ts, float(v), names) for ts, v in page.points
            ]
        else:
            item["datapoints"] = [{"timestamp": ts, "value": _json_value(v)} for ts, v in page.points]
        if page.next_cursor:
            item["nextCursor"] = page.next_cursor
        items.append(item)
    return {"items": items}


def _json_value(value: Value) -> Value:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _meta_json(meta: Json) -> Json:
    kind = meta.get("type") or ("string" if meta["isString"] else "numeric")
    item: Json = {"id": meta["id"], "isString": meta["isString"], "isStep": meta["isStep"], "type": kind}
    for key in ("externalId", "instanceId", "unit", "unitExternalId"):
        if meta.get(key) is not None:
            item[key] = meta[key]
    return item


def pages_to_protobuf(store: Store, pages: list[Page]) -> bytes:
    response = DataPointListResponse()
    for page in pages:
        item: DataPointListItem = response.items.add()
        for key, value in _meta_json(page.meta).items():
            if key == "instanceId":
                item.instanceId.space, item.instanceId.externalId = value["space"], value["externalId"]
            elif key != "type":
                setattr(item, key, value)
        item.type = TIMESERIES_TYPE_STRING if page.meta["isString"] else TIMESERIES_TYPE_NUMERIC
        if states.is_state(page.meta):
            item.type = TIMESERIES_TYPE_STATE
        if page.next_cursor:
            item.nextCursor = page.next_cursor
        if page.buckets is not None:
            item.aggregateDatapoints.SetInParent()
            for bucket in page.buckets:
                item.aggregateDatapoints.datapoints.add(**bucket)
        elif states.is_state(page.meta):
            item.stateDatapoints.SetInParent()
            names = states.states_of(store, page.meta)
            for ts, value in page.points:
                item.stateDatapoints.datapoints.add(
                    **states.point_json(store, page.meta, ts, float(value), names)
                )
        elif page.meta["isString"]:
            item.stringDatapoints.SetInParent()
            strings = item.stringDatapoints.datapoints
            for ts, value in page.points:
                strings.add(timestamp=ts, value=value)
        else:
            item.numericDatapoints.SetInParent()
            numbers = item.numericDatapoints.datapoints
            for ts, value in page.points:
                numbers.add(timestamp=ts, value=value)
    serialized: bytes = response.SerializeToString()
    return serialized


def latest(store: Store, body: Json) -> Json:
    check_keys(body, LATEST_KEYS)
    answers = []
    for internal, query in _queries(store, body, LATEST_ITEM_KEYS):
        before = _time(query.get("before"), now_ms() + 1, "before")
        series = store.datapoints.get(internal) or Series()
        stamps = series.timestamps()
        index = bisect.bisect_left(stamps, before) - 1
        item = _meta_json(store.time_series.items[internal])
        ts = stamps[index] if index >= 0 else None
        if ts is None:
            item["datapoints"] = []
        elif states.is_state(store.time_series.items[internal]):
            meta = store.time_series.items[internal]
            item["datapoints"] = [states.point_json(store, meta, ts, float(series.points[ts]), None)]
        else:
            item["datapoints"] = [{"timestamp": ts, "value": _json_value(series.points[ts])}]
        answers.append(item)
    return {"items": answers}


def delete_ranges(store: Store, body: Json) -> Json:
    check_keys(body, {"items"})
    items = resources.body_items(body, MAX_SERIES_PER_REQUEST)
    check_item_keys(items, IDENTIFIERS | {"inclusiveBegin", "exclusiveEnd"})
    ranges: list[tuple[int, int, int]] = []
    absent: list[Json] = []
    for index, item in enumerate(items):
        ident, internal = _series_id(store, {k: v for k, v in item.items() if k in IDENTIFIERS}, index)
        if internal is None:
            absent.append(ident)
            continue
        begin = _time(item.get("inclusiveBegin"), 0, f"items[{index}].inclusiveBegin")
        end = _time(item.get("exclusiveEnd"), begin + 1, f"items[{index}].exclusiveEnd")
        ranges.append((internal, begin, end))
    if absent:
        raise missing(absent, "Time series not found")
    for internal, begin, end in ranges:
        series = store.datapoints.get(internal)
        if series is not None:
            series.delete_range(begin, end)
    return {}
