"""DMS in the `--persist` snapshot: user schema, instances (tombstones too) and series ids as JSON rows."""

from __future__ import annotations

import sqlite3

import orjson

from plex_cdf.sim.cdf.dms.instances import rebuild_indexes
from plex_cdf.sim.cdf.dms.model import DmsState, Instance, Ordered, settle_heap

SCHEMA = "CREATE TABLE dms (kind TEXT NOT NULL, doc TEXT NOT NULL);"
SCHEMA_KINDS = ("spaces", "containers", "views", "data_models")


def save(state: DmsState, db: sqlite3.Connection) -> None:
    db.executescript(SCHEMA)
    rows: list[tuple[str, bytes]] = []
    for kind in SCHEMA_KINDS:
        objects = getattr(state, kind)
        rows.extend((kind, orjson.dumps(o)) for o in objects.values() if not o.get("isGlobal"))
    rows.extend(("instance", orjson.dumps(i.dump())) for i in state.instances.values())
    rows.extend(("tombstone", orjson.dumps(i.dump())) for i in state.tombstones.values())
    rows.extend(("series", orjson.dumps([list(k), v])) for k, v in state.time_series.items())
    db.executemany("INSERT INTO dms VALUES (?, ?)", ((k, d.decode()) for k, d in rows))


def load(state: DmsState, db: sqlite3.Connection) -> None:
    """Replace `state`'s user content with the snapshot's (system models stay as installed)."""
    if not db.execute("SELECT name FROM sqlite_master WHERE name = 'dms'").fetchone():
        return
    state.instances.clear()
    state.tombstones.clear()
    state.order, state.changes = Ordered(), Ordered()
    highest = 0
    for kind, doc in db.execute("SELECT kind, doc FROM dms"):
        raw = orjson.loads(doc)
        if kind in SCHEMA_KINDS:
            key = raw["space"] if kind == "spaces" else (raw["space"], raw["externalId"])
            if kind in ("views", "data_models"):
                key = (raw["space"], raw["externalId"], raw["version"])
            getattr(state, kind)[key] = raw
        elif kind in ("instance", "tombstone"):
            inst = Instance.load(raw)
            (state.instances if kind == "instance" else state.tombstones)[inst.key] = inst
            highest = max(highest, inst.seq, inst.change)
        elif kind == "series":
            state.time_series[(raw[0][0], raw[0][1])] = raw[1]
    state.bump_seq_past(highest)
    state.schema_changed()
    rebuild_indexes(state)
    settle_heap(state)
