"""Round-1 output as files again: the local CDF's persisted store and round-1's SQLite state, rebuilt from
tests/upgrade/round1_small.json.gz (made by make_round1_fixture.py with round-1's code)."""

from __future__ import annotations

import gzip
import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from plex_cdf.sim.cdf import LocalCdf
from plex_cdf.state.sqlite import SqliteStateStore

FIXTURE = Path(__file__).parent / "round1_small.json.gz"


def load_fixture() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(gzip.decompress(FIXTURE.read_bytes()))
    return loaded


def moment(fixture: dict[str, Any]) -> tuple[datetime, timedelta]:
    """The instant round 1 ran at (the simulated plant's clock) and its first-run reach."""
    return datetime.fromisoformat(fixture["now"]), timedelta(seconds=fixture["reach_s"])


def write_store(fixture: dict[str, Any], path: Path) -> None:
    """A `--persist` file of the local CDF holding what round 1 wrote."""
    LocalCdf(persist=path).snapshot()  # an empty store in today's schema (its system models seeded)
    _fill(path, fixture["store"])


def write_state(fixture: dict[str, Any], path: Path) -> None:
    """Round 1's state file (its tables are today's)."""
    SqliteStateStore(path).close()
    _fill(path, fixture["state"])


def _fill(path: Path, tables: dict[str, list[list[Any]]]) -> None:
    with sqlite3.connect(path) as db:
        for table, rows in tables.items():
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                db.executemany(f'INSERT OR REPLACE INTO "{table}" VALUES ({marks})', rows)
    db.close()
