"""State in a CDF RAW table, for deployments without a disk.

One row per watermark, per content hash and per value, keyed `{pcn}/w/{resource}`, `{pcn}/h/{resource}/{id}`
and `{pcn}/v/{key}`. The table is read once, on first use; every commit afterwards sends only the rows it
changes (one insert of up to 10,000 rows per call, deletes for removed hashes), so its cost follows the
change, not the size of the state. A commit returns only after CDF acknowledged it.

The StateStore protocol is synchronous; calls go through the SDK's synchronous client, which runs them on
its own event-loop thread, so they work from inside the extractor's event loop too.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cognite.client import AsyncCogniteClient, CogniteClient

ROWS_PER_CALL = 10_000
COLUMNS = ("hash", "value")  # every row holds one of these; named so reads ask for them explicitly


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class RawStateStore:
    """A StateStore in `database`/`table` of CDF RAW (both created on first write)."""

    def __init__(self, client: AsyncCogniteClient | CogniteClient, database: str, table: str) -> None:
        self._client = client.get_sync_client() if isinstance(client, AsyncCogniteClient) else client
        self.database = database
        self.table = table
        self._rows: dict[str, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def _all(self) -> dict[str, dict[str, Any]]:
        if self._rows is None:
            rows = (
                self._client.raw.rows.list(self.database, self.table, limit=None, columns=list(COLUMNS))
                if self._exists()
                else []
            )
            self._rows = {row.key: dict(row.columns or {}) for row in rows if row.key is not None}
        return self._rows

    def _exists(self) -> bool:
        databases = {db.name for db in self._client.raw.databases.list(limit=None)}
        if self.database not in databases:
            return False
        return self.table in {t.name for t in self._client.raw.tables.list(self.database, limit=None)}

    def _put(self, rows: Mapping[str, dict[str, Any]], removed: Sequence[str] = ()) -> None:
        keys = list(rows)
        for start in range(0, len(keys), ROWS_PER_CALL):
            chunk = {key: rows[key] for key in keys[start : start + ROWS_PER_CALL]}
            self._client.raw.rows.insert(self.database, self.table, chunk, ensure_parent=True)
        gone = [key for key in removed if key in self._all()]
        if gone:
            self._client.raw.rows.delete(self.database, self.table, gone)
        self._all().update(rows)
        for key in gone:
            del self._all()[key]

    def get_watermark(self, pcn: str, resource: str) -> datetime | None:
        with self._lock:
            row = self._all().get(f"{pcn}/w/{resource}")
        return None if row is None else datetime.fromisoformat(row["value"])

    def commit_watermark(self, pcn: str, resource: str, value: datetime) -> None:
        with self._lock:
            self._put({f"{pcn}/w/{resource}": {"value": _utc(value).isoformat()}})

    def get_hashes(self, pcn: str, resource: str) -> dict[str, str]:
        prefix = f"{pcn}/h/{resource}/"
        with self._lock:
            return {k[len(prefix) :]: str(v["hash"]) for k, v in self._all().items() if k.startswith(prefix)}

    def get_hashes_for(self, pcn: str, resource: str, keys: Sequence[str]) -> dict[str, str]:
        prefix = f"{pcn}/h/{resource}/"
        with self._lock:
            rows = self._all()
            return {k: str(rows[prefix + k]["hash"]) for k in keys if prefix + k in rows}

    def commit_hashes(
        self, pcn: str, resource: str, hashes: Mapping[str, str], removed: Sequence[str] = ()
    ) -> None:
        prefix = f"{pcn}/h/{resource}/"
        with self._lock:
            self._put(
                {prefix + xid: {"hash": digest} for xid, digest in hashes.items()},
                [prefix + x for x in removed],
            )

    def get_value(self, pcn: str, key: str) -> Any:
        with self._lock:
            row = self._all().get(f"{pcn}/v/{key}")
        return None if row is None else json.loads(row["value"])

    def set_value(self, pcn: str, key: str, value: Any) -> None:
        with self._lock:
            self._put({f"{pcn}/v/{key}": {"value": json.dumps(value)}})

    def forget_tenant(self, pcn: str) -> None:
        """Drop every watermark, hash and value of one PCN (after `cleanup` deleted what they describe)."""
        with self._lock:
            self._put({}, [key for key in self._all() if key.startswith(f"{pcn}/")])
