"""RAW: databases, tables and rows (upsert by key, list by cursor and last-updated time, retrieve, delete).

Rows keep insertion order; `lastUpdatedTime` (ms since epoch, UTC) moves only when a row's columns change.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass

from plex_cdf.sim.cdf import resources
from plex_cdf.sim.cdf.errors import CdfError, Json, bad_request
from plex_cdf.sim.cdf.keys import check_item_keys
from plex_cdf.sim.cdf.store import Store, now_ms

DB_NAME_MAX = 32
TABLE_NAME_MAX = 64
KEY_MAX = 1024
MAX_ROWS_PER_INSERT = 10_000
MAX_ROWS_PER_PAGE = 10_000
DEFAULT_ROWS_PAGE = 25


def not_found(kind: str, names: list[str]) -> CdfError:
    return CdfError(
        404, f"Following {kind} not found: {', '.join(names)}", missing=[{"name": n} for n in names]
    )


def _names(body: Json, max_len: int, kind: str) -> list[str]:
    names = []
    items = resources.body_items(body)
    check_item_keys(items, {"name"})
    for index, item in enumerate(items):
        name = item.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= max_len:
            raise bad_request(f"items[{index}].name: {kind} name must be 1-{max_len} characters")
        names.append(name)
    return names


def _page_of_names(names: list[str], params: Mapping[str, str]) -> Json:
    limit = _int_param(params, "limit", DEFAULT_ROWS_PAGE, 1, 1000)
    start = _decode_rows(params["cursor"]).position if params.get("cursor") else 0
    items = [{"name": n} for n in names[start : start + limit]]
    answer: Json = {"items": items}
    if start + limit < len(names):
        answer["nextCursor"] = RowCursor(start + limit).encode()
    return answer


def list_dbs(store: Store, params: Mapping[str, str]) -> Json:
    return _page_of_names(list(store.raw), params)


def create_dbs(store: Store, body: Json) -> Json:
    names = _names(body, DB_NAME_MAX, "database")
    existing = [n for n in names if n in store.raw]
    if existing:
        raise CdfError(
            400,
            f"Databases already created: {', '.join(existing)}",
            duplicated=[{"name": n} for n in existing],
        )
    for name in names:
        store.raw[name] = {}
    return {"items": [{"name": n} for n in names]}


def delete_dbs(store: Store, body: Json) -> Json:
    names = _names(body, DB_NAME_MAX, "database")
    absent = [n for n in names if n not in store.raw]
    if absent:
        raise not_found("databases", absent)
    not_empty = [n for n in names if store.raw[n] and not body.get("recursive")]
    if not_empty:
        raise bad_request(f"Database {not_empty[0]} is not empty; delete with recursive=true")
    for name in names:
        del store.raw[name]
    return {}


def _db(store: Store, db: str) -> dict[str, dict[str, Json]]:
    tables = store.raw.get(db)
    if tables is None:
        raise not_found("databases", [db])
    return tables


def list_tables(store: Store, db: str, params: Mapping[str, str]) -> Json:
    return _page_of_names(list(_db(store, db)), params)


def create_tables(store: Store, db: str, body: Json, params: Mapping[str, str]) -> Json:
    names = _names(body, TABLE_NAME_MAX, "table")
    if params.get("ensureParent") == "true":
        store.raw.setdefault(db, {})
    tables = _db(store, db)
    existing = [n for n in names if n in tables]
    if existing:
        raise CdfError(
            400, f"Tables already created: {', '.join(existing)}", duplicated=[{"name": n} for n in existing]
        )
    for name in names:
        tables[name] = {}
    return {"items": [{"name": n} for n in names]}


def delete_tables(store: Store, db: str, body: Json) -> Json:
    tables = _db(store, db)
    names = _names(body, TABLE_NAME_MAX, "table")
    absent = [n for n in names if n not in tables]
    if absent:
        raise not_found("tables", absent)
    for name in names:
        del tables[name]
    return {}


def _table(store: Store, db: str, table: str, *, ensure_parent: bool = False) -> dict[str, Json]:
    if ensure_parent:
        if not 1 <= len(db) <= DB_NAME_MAX or not 1 <= len(table) <= TABLE_NAME_MAX:
            raise bad_request(f"RAW names: database 1-{DB_NAME_MAX} and table 1-{TABLE_NAME_MAX} characters")
        return store.raw.setdefault(db, {}).setdefault(table, {})
    rows = _db(store, db).get(table)
    if rows is None:
        raise not_found("tables", [table])
    return rows


def insert_rows(store: Store, db: str, table: str, body: Json, params: Mapping[str, str]) -> Json:
    items = resources.body_items(body, MAX_ROWS_PER_INSERT)
    check_item_keys(items, {"key", "columns"})
    for index, item in enumerate(items):
        key = item.get("key")
        if not isinstance(key, str) or not 1 <= len(key) <= KEY_MAX:
            raise bad_request(f"items[{index}].key: must be a string of 1-{KEY_MAX} characters")
        if not isinstance(item.get("columns"), dict):
            raise bad_request(f"items[{index}].columns: expected an object")
    rows = _table(store, db, table, ensure_parent=params.get("ensureParent") == "true")
    now = now_ms()
    for item in items:
        old = rows.get(item["key"])
        if old is None or old["columns"] != item["columns"]:
            rows[item["key"]] = {"key": item["key"], "columns": item["columns"], "lastUpdatedTime": now}
    return {}


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise bad_request(f"{name}: expected an integer, got {raw[:40]!r}") from exc
    if not low <= value <= high:
        raise bad_request(f"{name}: must be between {low} and {high}, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class RowCursor:
    """Where a row listing resumes: position, end of the slice, and the last-updated window it filters by."""

    position: int = 0
    stop: int = -1
    low: int = -1
    high: int = 2**63

    def encode(self) -> str:
        text = f"rows:{self.position}:{self.stop}:{self.low}:{self.high}"
        return base64.urlsafe_b64encode(text.encode()).decode()


def _decode_rows(cursor: str) -> RowCursor:
    try:
        tag, *numbers = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        if tag != "rows" or len(numbers) != 4:
            raise ValueError(tag)
        return RowCursor(*(int(n) for n in numbers))
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"cursor: {cursor[:40]!r} is not a RAW cursor") from exc


def _row_view(row: Json, columns: list[str] | None) -> Json:
    if columns is None:
        return row
    return {**row, "columns": {c: row["columns"][c] for c in columns if c in row["columns"]}}


def _columns(params: Mapping[str, str]) -> list[str] | None:
    raw = params.get("columns")
    if not raw:  # absent or empty means every column; "," asks for keys only
        return None
    return [c for c in raw.split(",") if c]


def list_rows(store: Store, db: str, table: str, params: Mapping[str, str]) -> Json:
    rows = _table(store, db, table)
    limit = _int_param(params, "limit", DEFAULT_ROWS_PAGE, 1, MAX_ROWS_PER_PAGE)
    columns = _columns(params)
    window = _window(params)
    cursor = _decode_rows(params["cursor"]) if params.get("cursor") else window
    low, high, position, stop = cursor.low, cursor.high, cursor.position, cursor.stop
    keys = list(rows)
    stop = len(keys) if stop < 0 else min(stop, len(keys))
    page: list[Json] = []
    while position < stop and len(page) < limit:
        row = rows[keys[position]]
        position += 1
        if low < row["lastUpdatedTime"] <= high:
            page.append(_row_view(row, columns))
    answer: Json = {"items": page}
    if position < stop:
        answer["nextCursor"] = RowCursor(position, stop, low, high).encode()
    return answer


def _window(params: Mapping[str, str]) -> RowCursor:
    """minLastUpdatedTime is exclusive, maxLastUpdatedTime inclusive (ms since epoch)."""
    low = _int_param(params, "minLastUpdatedTime", -1, -1, 2**63)
    return RowCursor(low=low, high=_int_param(params, "maxLastUpdatedTime", 2**63, 0, 2**63))


def cursors(store: Store, db: str, table: str, params: Mapping[str, str]) -> Json:
    """Start cursors for `numberOfCursors` disjoint slices, for the SDK's partitioned reads."""
    count = len(_table(store, db, table))
    parts = _int_param(params, "numberOfCursors", 10, 1, 10_000)
    window = _window(params)
    bounds = [count * i // parts for i in range(parts + 1)]
    return {
        "items": [
            RowCursor(bounds[i], bounds[i + 1], window.low, window.high).encode()
            for i in range(parts)
            if bounds[i] < bounds[i + 1]
        ]
    }


def retrieve_row(store: Store, db: str, table: str, key: str) -> Json:
    row = _table(store, db, table).get(key)
    if row is None:
        raise CdfError(404, f"Row {key[:80]!r} not found", missing=[{"key": key}])
    return row


def delete_rows(store: Store, db: str, table: str, body: Json) -> Json:
    rows = _table(store, db, table)
    items = resources.body_items(body, MAX_ROWS_PER_INSERT)
    check_item_keys(items, {"key"})
    for item in items:
        rows.pop(str(item.get("key")), None)
    return {}
