"""The SQLite state file: round trips, tenant isolation, atomic commits, loud failure on corruption."""

from __future__ import annotations

import multiprocessing
import os
import signal
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from plex_cdf.state.sqlite import SqliteStateStore, StateCorrupt


def test_watermarks_round_trip_per_tenant_and_resource_in_utc(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "state.db")
    local = datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=timezone(timedelta(hours=-5)))
    store.commit_watermark("1", "jobs", local)
    assert store.get_watermark("1", "jobs") == local
    assert store.get_watermark("1", "jobs").tzinfo == UTC  # type: ignore[union-attr]
    assert store.get_watermark("2", "jobs") is None, "another tenant must not see this watermark"
    assert store.get_watermark("1", "parts") is None


def test_hashes_commit_and_remove(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "state.db")
    store.commit_hashes("1", "parts", {"a": "h1", "b": "h2"})
    store.commit_hashes("1", "parts", {"a": "h3"}, removed=["b"])
    assert store.get_hashes("1", "parts") == {"a": "h3"}
    assert store.get_hashes("1", "jobs") == {}


def test_values_are_json(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "state.db")
    store.set_value("1", "k", {"x": [1, "two"]})
    assert SqliteStateStore(tmp_path / "state.db").get_value("1", "k") == {"x": [1, "two"]}
    assert store.get_value("1", "other") is None


def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.db"
    SqliteStateStore(path).commit_hashes("1", "parts", {"a": "h"})
    assert SqliteStateStore(path).get_hashes("1", "parts") == {"a": "h"}


def test_the_state_file_is_created_readable_by_its_owner_only(tmp_path: Path) -> None:
    fresh = SqliteStateStore(tmp_path / "new" / "state.db")
    fresh.set_value("1", "x#last_run", {"message": "m"})
    fresh.close()
    assert (tmp_path / "new" / "state.db").stat().st_mode & 0o777 == 0o600
    loose = tmp_path / "old.db"
    SqliteStateStore(loose).close()
    loose.chmod(0o644)  # left by an earlier version
    SqliteStateStore(loose).close()
    assert loose.stat().st_mode & 0o777 == 0o600


def test_a_corrupt_file_is_an_error_naming_it_never_a_silent_reset(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database" * 200)
    with pytest.raises(StateCorrupt, match=r"state\.db is corrupt"):
        SqliteStateStore(path)
    assert path.read_bytes().startswith(b"this is not"), "the corrupt file must be left for inspection"


def _commit_forever(path: str, ready: Any) -> None:
    store = SqliteStateStore(path)
    n = 0
    while True:
        store.commit_hashes("1", "r", {f"k{i}": str(n) for i in range(200)})
        n += 1
        if n == 20:
            ready.set()


def test_a_process_killed_mid_commit_leaves_a_whole_commit(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    child = ctx.Process(target=_commit_forever, args=(path, ready))
    child.start()
    assert ready.wait(60), "the committing process never got going"
    os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
    child.join()
    hashes = SqliteStateStore(path).get_hashes("1", "r")
    assert len(hashes) == 200 and len(set(hashes.values())) == 1, "a commit must be all or nothing"
