"""`--persist FILE`: the store as a SQLite file, written whole at shutdown and on demand.

Snapshots (not write-through) keep SQLite off the request path; a snapshot is written to a temporary file
and renamed over the old one, so a crash never leaves a half-written file. Loading happens at start.
"""

from __future__ import annotations

import math
import os
import sqlite3
from pathlib import Path

import orjson

from plex_cdf.sim.cdf.dms import persist as dms_persist
from plex_cdf.sim.cdf.store import Series, Store, Value

OBJECT_KINDS = ("assets", "events", "timeseries", "relationships", "datasets", "extpipes")

SCHEMA = """
CREATE TABLE objects (kind TEXT NOT NULL, id INTEGER NOT NULL, external_id TEXT, item TEXT NOT NULL,
                      PRIMARY KEY (kind, id));
CREATE TABLE datapoints (series_id INTEGER NOT NULL, external_id TEXT, timestamp INTEGER NOT NULL,
                         is_string INTEGER NOT NULL, value_text TEXT NOT NULL, value_num REAL,
                         PRIMARY KEY (series_id, timestamp));
CREATE TABLE raw_tables (db TEXT NOT NULL, tbl TEXT NOT NULL, PRIMARY KEY (db, tbl));
CREATE TABLE raw_dbs (db TEXT PRIMARY KEY);
CREATE TABLE raw_rows (db TEXT NOT NULL, tbl TEXT NOT NULL, key TEXT NOT NULL, columns TEXT NOT NULL,
                       last_updated_time INTEGER NOT NULL, PRIMARY KEY (db, tbl, key));
CREATE TABLE extpipe_runs (external_id TEXT NOT NULL, run TEXT NOT NULL);
CREATE TABLE extpipe_configs (external_id TEXT NOT NULL, revision TEXT NOT NULL);
"""


def save_snapshot(store: Store, path: Path) -> None:
    """Write the whole store to `path` atomically (temp file + rename)."""
    temp = path.with_name(path.name + ".tmp")
    temp.unlink(missing_ok=True)
    with store.lock, sqlite3.connect(temp) as db:
        db.executescript(SCHEMA)
        _save_objects(store, db)
        _save_datapoints(store, db)
        _save_raw(store, db)
        dms_persist.save(store.dms, db)
        db.executemany(
            "INSERT INTO extpipe_runs VALUES (?, ?)",
            ((xid, orjson.dumps(run).decode()) for xid, runs in store.extpipe_runs.items() for run in runs),
        )
        db.executemany(
            "INSERT INTO extpipe_configs VALUES (?, ?)",
            ((xid, orjson.dumps(r).decode()) for xid, revs in store.extpipe_configs.items() for r in revs),
        )
    db.close()
    os.replace(temp, path)


def _save_objects(store: Store, db: sqlite3.Connection) -> None:
    for kind in OBJECT_KINDS:
        collection = store.collection(kind)
        db.executemany(
            "INSERT INTO objects VALUES (?, ?, ?, ?)",
            (
                (kind, internal, item.get("externalId"), orjson.dumps(item).decode())
                for internal, item in collection.items.items()
            ),
        )


def _save_datapoints(store: Store, db: sqlite3.Connection) -> None:
    for internal, series in store.datapoints.items():
        external_id = store.time_series.items.get(internal, {}).get("externalId")
        db.executemany(
            "INSERT INTO datapoints VALUES (?, ?, ?, ?, ?, ?)",
            ((internal, external_id, ts, *_point_columns(value)) for ts, value in series.points.items()),
        )


def _point_columns(value: Value) -> tuple[int, str, float | None]:
    """(is_string, exact text, number for SQL queries); repr keeps NaN and infinities exact."""
    if isinstance(value, str):
        return 1, value, None
    return 0, repr(value), value if math.isfinite(value) else None


def _save_raw(store: Store, db: sqlite3.Connection) -> None:
    db.executemany("INSERT INTO raw_dbs VALUES (?)", ((name,) for name in store.raw))
    for name, tables in store.raw.items():
        db.executemany("INSERT INTO raw_tables VALUES (?, ?)", ((name, t) for t in tables))
        for table, rows in tables.items():
            db.executemany(
                "INSERT INTO raw_rows VALUES (?, ?, ?, ?, ?)",
                (
                    (name, table, key, orjson.dumps(row["columns"]).decode(), row["lastUpdatedTime"])
                    for key, row in rows.items()
                ),
            )


def load_snapshot(store: Store, path: Path) -> None:
    """Fill an empty store from a snapshot written by `save_snapshot`."""
    with store.lock, sqlite3.connect(path) as db:
        highest = 0
        for kind, internal, item in db.execute("SELECT kind, id, item FROM objects ORDER BY id"):
            store.collection(kind).put(internal, orjson.loads(item))
            highest = max(highest, internal)
        for internal, ts, is_string, text in db.execute(
            "SELECT series_id, timestamp, is_string, value_text FROM datapoints"
        ):
            store.datapoints.setdefault(internal, Series()).upsert(ts, text if is_string else float(text))
        for (name,) in db.execute("SELECT db FROM raw_dbs"):
            store.raw.setdefault(name, {})
        for name, table in db.execute("SELECT db, tbl FROM raw_tables"):
            store.raw.setdefault(name, {}).setdefault(table, {})
        for name, table, key, columns, updated in db.execute("SELECT * FROM raw_rows"):
            store.raw[name][table][key] = {
                "key": key,
                "columns": orjson.loads(columns),
                "lastUpdatedTime": updated,
            }
        for xid, run in db.execute("SELECT external_id, run FROM extpipe_runs"):
            store.extpipe_runs.setdefault(xid, []).append(orjson.loads(run))
            highest = max(highest, orjson.loads(run)["id"])
        for xid, revision in db.execute("SELECT external_id, revision FROM extpipe_configs"):
            store.extpipe_configs.setdefault(xid, []).append(orjson.loads(revision))
        dms_persist.load(store.dms, db)
    db.close()
    store.bump_ids_past(highest)
