"""The local CDF's data: in-memory dicts and indexes, guarded by one lock, readable by tests.

Items are kept in CDF's JSON shape (camelCase keys) so answers are the stored dicts themselves.
Times are milliseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

from plex_cdf.sim.cdf.dms import DmsState
from plex_cdf.sim.cdf.dms import install as install_dms
from plex_cdf.sim.cdf.errors import Json

Value = float | str


def now_ms() -> int:
    return int(time.time() * 1000)


class Collection:
    """One resource type: items by internal id, an external-id index and ids in creation order."""

    def __init__(self) -> None:
        self.items: dict[int, Json] = {}
        self.by_external_id: dict[str, int] = {}
        self._sorted_ids: list[int] = []

    def __len__(self) -> int:
        return len(self.items)

    def resolve(self, ident: Json) -> int | None:
        """Internal id of `{"id": ...}` or `{"externalId": ...}`, None when unknown."""
        if "id" in ident:
            internal = ident["id"]
            return internal if internal in self.items else None
        return self.by_external_id.get(ident.get("externalId"))  # type: ignore[arg-type]

    def put(self, internal_id: int, item: Json) -> None:
        """Insert or replace; keeps the external-id index in step with the item."""
        old = self.items.get(internal_id)
        if old is None:
            self._sorted_ids.append(internal_id)
        elif old.get("externalId") is not None:
            self.by_external_id.pop(old["externalId"], None)
        self.items[internal_id] = item
        if item.get("externalId") is not None:
            self.by_external_id[item["externalId"]] = internal_id

    def remove(self, internal_id: int) -> None:
        item = self.items.pop(internal_id)
        if item.get("externalId") is not None:
            self.by_external_id.pop(item["externalId"], None)
        index = bisect.bisect_left(self._sorted_ids, internal_id)
        del self._sorted_ids[index]

    def ids_after(self, after: int) -> Iterator[int]:
        """Ids greater than `after`, ascending: the order list pages walk in."""
        start = bisect.bisect_right(self._sorted_ids, after)
        return itertools.islice(self._sorted_ids, start, None)


class Series:
    """One time series' datapoints: timestamp -> value, with a sorted-timestamp cache for reads."""

    def __init__(self) -> None:
        self.points: dict[int, Value] = {}
        self._sorted: list[int] | None = None

    def upsert(self, timestamp: int, value: Value) -> None:
        if timestamp not in self.points:
            self._sorted = None
        self.points[timestamp] = value

    def delete_range(self, begin: int, end: int) -> None:
        doomed = [ts for ts in self.timestamps() if begin <= ts < end]
        for ts in doomed:
            del self.points[ts]
        if doomed:
            self._sorted = None

    def timestamps(self) -> list[int]:
        if self._sorted is None:
            self._sorted = sorted(self.points)
        return self._sorted


class Store:
    """Everything the local CDF holds. Handlers mutate it under `lock`; tests read through the accessors."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clear()

    def clear(self) -> None:
        """Forget everything, ids included: a fresh project without a restart (hold `lock` while serving)."""
        self._ids = itertools.count(1_000_000_001)
        self.assets = Collection()
        self.events = Collection()
        self.time_series = Collection()
        self.relationships = Collection()
        self.data_sets = Collection()
        self.extpipes = Collection()
        self.datapoints: dict[int, Series] = {}
        self.raw: dict[str, dict[str, dict[str, Json]]] = {}
        self.extpipe_runs: dict[str, list[Json]] = {}
        self.extpipe_configs: dict[str, list[Json]] = {}
        self.dms: DmsState
        install_dms(self)  # Data Modeling: spaces, views, instances; system models present from the start
        self._by_route = {
            "assets": self.assets,
            "events": self.events,
            "timeseries": self.time_series,
            "relationships": self.relationships,
            "datasets": self.data_sets,
            "extpipes": self.extpipes,
        }

    def next_id(self) -> int:
        return next(self._ids)

    def bump_ids_past(self, used: int) -> None:
        """After loading a snapshot, new ids must not collide with loaded ones."""
        self._ids = itertools.count(max(used + 1, next(self._ids)))

    def collection(self, name: str) -> Collection:
        """The collection behind a route name ("assets", "timeseries", "datasets", ...)."""
        return self._by_route[name]

    # Read access for tests: deep copies, so a test can never change what the server holds.

    def _copy_all(self, collection: Collection) -> list[Json]:
        with self.lock:
            return copy.deepcopy(list(collection.items.values()))

    def assets_list(self) -> list[Json]:
        return self._copy_all(self.assets)

    def events_list(self) -> list[Json]:
        return self._copy_all(self.events)

    def time_series_list(self) -> list[Json]:
        return self._copy_all(self.time_series)

    def relationships_list(self) -> list[Json]:
        return self._copy_all(self.relationships)

    def data_sets_list(self) -> list[Json]:
        return self._copy_all(self.data_sets)

    def datapoints_of(self, external_id: str) -> list[tuple[int, Value]]:
        """Points of one series by external id, ascending by timestamp; [] for an unknown series."""
        with self.lock:
            internal = self.time_series.by_external_id.get(external_id)
            series = self.datapoints.get(internal) if internal is not None else None
            if series is None:
                return []
            return [(ts, series.points[ts]) for ts in series.timestamps()]

    def raw_rows_of(self, db: str, table: str) -> dict[str, Json]:
        with self.lock:
            rows = self.raw.get(db, {}).get(table, {})
            return {key: copy.deepcopy(row["columns"]) for key, row in rows.items()}

    def extpipe_runs_of(self, external_id: str) -> list[Json]:
        with self.lock:
            return copy.deepcopy(self.extpipe_runs.get(external_id, []))


class StoreView:
    """The read-only face tests use: `cdf.store.assets()`, `.datapoints("ts-1")`, ..."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def assets(self) -> list[Json]:
        return self._store.assets_list()

    def events(self) -> list[Json]:
        return self._store.events_list()

    def time_series(self) -> list[Json]:
        return self._store.time_series_list()

    def relationships(self) -> list[Json]:
        return self._store.relationships_list()

    def data_sets(self) -> list[Json]:
        return self._store.data_sets_list()

    def datapoints(self, external_id: str) -> list[tuple[int, Value]]:
        return self._store.datapoints_of(external_id)

    def raw_rows(self, db: str, table: str) -> dict[str, Json]:
        return self._store.raw_rows_of(db, table)

    def extpipe_runs(self, external_id: str) -> list[Json]:
        return self._store.extpipe_runs_of(external_id)

    def raw_databases(self) -> dict[str, list[str]]:
        with self._store.lock:
            return {db: list(tables) for db, tables in self._store.raw.items()}

    def counts(self) -> dict[str, Any]:
        """How many objects of each kind: a quick overview for logs and benchmarks."""
        s = self._store
        with s.lock:
            return {
                "assets": len(s.assets),
                "events": len(s.events),
                "timeseries": len(s.time_series),
                "datapoints": sum(len(series.points) for series in s.datapoints.values()),
                "relationships": len(s.relationships),
                "datasets": len(s.data_sets),
                "rawRows": sum(len(t) for tables in s.raw.values() for t in tables.values()),
            }
