"""A backfill of the large plant's production history: throughput, batch fill and peak RSS.

Run: .venv/bin/python bench/backfill_large.py [--days 20]
After a first master-data run (as in a deployment; production events link to its assets),
`plex-cdf backfill --only production` over the last `--days` days of the large plant (150 workcenters, an
entry every ~6 minutes per running job; the simulator holds 90 days), through the product's real path
(`plex_cdf.app.extract(..., backfill=TimeRange)`) in its own process, against the simulated Plex and the
local CDF in another. 100,000 calls a minute on both sides, so the limiter stays out of the figure.

Targets (exit code 1 when one is missed): peak RSS at most 400 MB; at least 900 items per CDF write call.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.harness import World, config_tree, run_product, say, table, verdict

NOW = datetime(2026, 11, 28, tzinfo=UTC)
BUDGET = 100_000
RSS_TARGET_MB = 400
ITEMS_TARGET = 900


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=20, help="days of history to backfill (at most 90)")
    args = parser.parse_args()
    begin = NOW - timedelta(days=args.days)
    say("starting the simulated Plex (large plant) and the local CDF")
    world = World("large", NOW, BUDGET)
    try:
        config = config_tree(world, Path(tempfile.mkdtemp(prefix="bench-large-")) / "state.db", BUDGET)
        # master data first, as in a deployment: production events link to workcenter and part assets
        # (without them every link would wait in the pending-links state instead)
        say("master data (setup and a first run; not part of the target)")
        master = run_product(world, "master data, cold", config, NOW, setup=True, only=["master_data"])
        say(f"backfill of production, {begin:%Y-%m-%d} to {NOW:%Y-%m-%d} ({args.days} days)")
        backfill = (begin, NOW)
        run = run_product(
            world, f"backfill {args.days} d", config, NOW, backfill=backfill, only=["production"]
        )
    finally:
        world.close()
    print(f"plex-cdf backfill, large plant, production domain, {args.days} of 90 days of history")
    headers = ["run", "wall s", "records", "records/s", "Plex calls", "CDF writes", "items/write"]
    headers += ["peak RSS MB", "CPU s"]
    rows: list[list[object]] = [
        [
            r.name,
            r.wall_s,
            r.fetched,
            round(r.records_per_s),
            r.plex_calls,
            r.cdf_writes,
            round(r.items_per_write),
        ]
        for r in (master, run)
    ]
    for row, r in zip(rows, (master, run), strict=True):
        row += [round(r.peak_rss_mb), r.cpu_s]
    print(table(headers, rows))
    failed = master.failed + run.failed
    checks = [
        (f"peak RSS at most {RSS_TARGET_MB} MB ({run.peak_rss_mb:.0f} MB)", run.peak_rss_mb <= RSS_TARGET_MB),
        (
            f"bulk load averages at least {ITEMS_TARGET} items per CDF write call "
            f"({run.written:,} items / {run.write_calls} calls = {run.items_per_write:.0f})",
            run.items_per_write >= ITEMS_TARGET,
        ),
        ("no resource failed" + (f": {failed[:3]}" if failed else ""), not failed),
    ]
    return verdict(checks, miss="MISS")


if __name__ == "__main__":
    sys.exit(main())
