"""Regenerate tests/upgrade/round1_small.json.gz: what round-1 plex-cdf left in CDF for the small plant.

Not a test. Run it with ROUND-1's interpreter, the product at the commit before round 2 (81513e4):

    git worktree add --detach /tmp/r1 81513e4 && (cd /tmp/r1 && make .venv/.installed-test)
    /tmp/r1/.venv/bin/python tests/upgrade/make_round1_fixture.py --current .venv/bin/plex-cdf

It serves today's simulated Plex (same plant, seed 1, clock still at NOW) and today's local CDF with
`--persist` from the current checkout (`--current`: its plex-cdf command), runs round-1's `setup` and one
`run --once` in this process against them (round-1's code, round-1's state file), stops the local CDF so it
writes its store, and exports the store and the round-1 state as one JSON file (tests/upgrade/fixture.py
loads it back).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
REACH = timedelta(days=2)
HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int) -> None:
    for _ in range(200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--current", required=True, help="today's plex-cdf command (serves the simulators)")
    parser.add_argument("--out", default=str(HERE / "round1_small.json.gz"))
    args = parser.parse_args()

    from plex_cdf import demo  # round-1's package (this interpreter's)
    from plex_cdf.app import cdf_settings
    from plex_cdf.cdf.client import build_client
    from plex_cdf.cli import extract
    from plex_cdf.ops import setup
    from plex_cdf.sim.cdf.server import TOKEN_PATH

    with tempfile.TemporaryDirectory() as folder:
        store, state = Path(folder) / "store.db", Path(folder) / "state.db"
        plex_port, cdf_port = free_port(), free_port()
        plex = subprocess.Popen(
            [
                *(args.current, "sim", "plex", "--port", str(plex_port), "--seed", "1", "--scale", "small"),
                *("--api-key", demo.DEMO_API_KEY, "--pcn", demo.DEMO_PCN, "--ds-user", demo.DEMO_DS_USER),
                *("--ds-password", demo.DEMO_DS_PASSWORD, "--rate-limit-per-minute", "100000"),
                *("--clock", "still", "--now", NOW.isoformat()),
            ]
        )
        cdf = subprocess.Popen(
            [
                *(args.current, "sim", "cdf", "--port", str(cdf_port), "--project", demo.DEMO_PROJECT),
                *("--client-id", demo.DEMO_CLIENT_ID, "--client-secret", demo.DEMO_CLIENT_SECRET),
                *("--persist", str(store)),
            ]
        )
        try:
            wait_for(plex_port)
            wait_for(cdf_port)
            base = f"http://127.0.0.1:{cdf_port}"
            config = demo.demo_config(
                f"http://127.0.0.1:{plex_port}", base, f"{base}{TOKEN_PATH}", state, calls_per_minute=100_000
            )
            config.extractor.first_run_reach = REACH
            client = build_client(cdf_settings(config))
            asyncio.run(setup(config, client))
            asyncio.run(extract(config, once=True, clock=lambda: NOW, client=client))
        finally:
            plex.terminate()
            cdf.terminate()
            plex.wait(30)
            cdf.wait(30)
        text = json.dumps(export(store, state), indent=0, sort_keys=True) + "\n"
        Path(args.out).write_bytes(gzip.compress(text.encode(), mtime=0))
    print(f"wrote {args.out}", file=sys.stderr)


def export(store: Path, state: Path) -> dict[str, object]:
    """Both SQLite files as {table: [rows]} (every column as stored); the local CDF's system data models
    (`dms`, which the server seeds itself) are left out."""
    cdf = {name: rows for name, rows in tables(store).items() if name != "dms"}
    return {
        "store": cdf,
        "state": tables(state),
        "now": NOW.isoformat(),
        "reach_s": int(REACH.total_seconds()),
    }


def tables(path: Path) -> dict[str, list[list[object]]]:
    with sqlite3.connect(path) as db:
        names = [
            r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ]
        rows = {name: [list(row) for row in db.execute(f'SELECT * FROM "{name}"')] for name in names}
    return {name: sorted(found, key=lambda row: json.dumps(row)) for name, found in rows.items()}


if __name__ == "__main__":
    main()
