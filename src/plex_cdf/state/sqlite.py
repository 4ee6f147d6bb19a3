"""State in one SQLite file: watermarks, content hashes and small JSON values per tenant (PCN).

Every commit is one transaction in WAL mode, so a crash at any instant leaves either the old or the new
state, never a mix. `synchronous=NORMAL`: a killed process loses nothing; a power cut may lose the last few
commits, which only makes the state lag CDF (items are rewritten, windows refetched), never lead it — so
the fsync per commit that FULL costs (about 9 ms here) buys nothing. A file SQLite cannot read raises
StateCorrupt naming the file; it is never silently replaced by an empty state (that would re-extract and
re-write everything).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from plex_cdf.files import create_private

SCHEMA_VERSION = 1
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS watermarks (pcn TEXT, resource TEXT, value TEXT NOT NULL,"
    " PRIMARY KEY (pcn, resource))",
    "CREATE TABLE IF NOT EXISTS hashes (pcn TEXT, resource TEXT, external_id TEXT, hash TEXT NOT NULL,"
    " PRIMARY KEY (pcn, resource, external_id)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS kv (pcn TEXT, key TEXT, value TEXT NOT NULL, PRIMARY KEY (pcn, key))",
)


# SQLite allows 999 bound parameters by default; two go to pcn and resource.
KEYS_PER_QUERY = 900


class StateCorrupt(RuntimeError):
    """The state file cannot be trusted; the message names it and what to do."""


class StateUnavailable(RuntimeError):
    """The state file cannot be opened or created where it is configured (not a corrupt file)."""


def _check_place(path: Path) -> None:
    """The state path names a file whose folder exists or can be made; else StateUnavailable with the fix."""
    if path.is_dir():
        raise StateUnavailable(
            f"state path {path} is a folder, not a file; fix: set state-store.local.path to a file in it,"
            f" e.g. {path / 'plex-cdf-state.db'}"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StateUnavailable(
            f"cannot create the state folder {path.parent} ({err.strerror or err}); fix: create it, let this"
            " user write there, or set state-store.local.path"
        ) from None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SqliteStateStore:
    """A StateStore in a SQLite file (created with its folder on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        _check_place(self.path)
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            create_private(self.path)  # run messages and digests are the operator's alone
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.OperationalError as err:  # no permission to create or open: not a corrupt file
            raise StateUnavailable(
                f"cannot open the state file {self.path} ({err}); fix: let this user write there, or set"
                " state-store.local.path"
            ) from None
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as err:
            raise self._corrupt(str(err)) from None
        if verdict != "ok":
            raise self._corrupt(str(verdict))
        if version > SCHEMA_VERSION:
            raise StateCorrupt(f"state file {self.path} was written by a newer plex-cdf (schema {version})")
        with self._transaction(db):
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        return db

    def _corrupt(self, detail: str) -> StateCorrupt:
        return StateCorrupt(
            f"state file {self.path} is corrupt ({detail}); move it aside to start over "
            "(every resource is then fetched and compared again)"
        )

    @staticmethod
    @contextmanager
    def _transaction(db: sqlite3.Connection) -> Iterator[None]:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                with self._transaction(self._db):
                    yield self._db
            except sqlite3.DatabaseError as err:
                raise self._corrupt(str(err)) from None

    def _read(self, sql: str, args: Sequence[Any]) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.DatabaseError as err:
                raise self._corrupt(str(err)) from None

    def get_watermark(self, pcn: str, resource: str) -> datetime | None:
        rows = self._read("SELECT value FROM watermarks WHERE pcn=? AND resource=?", (pcn, resource))
        return datetime.fromisoformat(rows[0][0]) if rows else None

    def commit_watermark(self, pcn: str, resource: str, value: datetime) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO watermarks VALUES (?, ?, ?)", (pcn, resource, _utc(value).isoformat())
            )

    def get_hashes(self, pcn: str, resource: str) -> dict[str, str]:
        rows = self._read("SELECT external_id, hash FROM hashes WHERE pcn=? AND resource=?", (pcn, resource))
        return dict(rows)

    def get_hashes_for(self, pcn: str, resource: str, keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), KEYS_PER_QUERY):
            chunk = unique[start : start + KEYS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            sql = (
                "SELECT external_id, hash FROM hashes"
                f" WHERE pcn=? AND resource=? AND external_id IN ({marks})"
            )
            found.update(self._read(sql, (pcn, resource, *chunk)))
        return found

    def commit_hashes(
        self, pcn: str, resource: str, hashes: Mapping[str, str], removed: Sequence[str] = ()
    ) -> None:
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?)",
                ((pcn, resource, xid, digest) for xid, digest in hashes.items()),
            )
            db.executemany(
                "DELETE FROM hashes WHERE pcn=? AND resource=? AND external_id=?",
                ((pcn, resource, xid) for xid in removed),
            )

    def get_value(self, pcn: str, key: str) -> Any:
        rows = self._read("SELECT value FROM kv WHERE pcn=? AND key=?", (pcn, key))
        return json.loads(rows[0][0]) if rows else None

    def set_value(self, pcn: str, key: str, value: Any) -> None:
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", (pcn, key, json.dumps(value)))

    def forget_tenant(self, pcn: str) -> None:
        """Drop every watermark, hash and value of one PCN (after `cleanup` deleted what they describe)."""
        with self._write() as db:
            for table in ("watermarks", "hashes", "kv"):
                db.execute(f"DELETE FROM {table} WHERE pcn=?", (pcn,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
