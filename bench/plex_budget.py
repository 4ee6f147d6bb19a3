"""Plex call budget under a backlog: never exceeded, and how much of it plex-cdf uses.

Run: .venv/bin/python bench/plex_budget.py [--limit 200] [--window 10]
A realistic budget over a short window (200 calls per 10 s: Plex's 200 a minute, six times faster, so the
figure takes about a minute): the simulated Plex enforces it and logs each request's arrival; plex-cdf is
configured with the same budget (the client's window is narrowed to match; the YAML file only speaks of
minutes). The backlog: a cold master-data run of the medium plant, about 1,500 BOM calls (one per part).
From the simulator's log: the most calls in any rolling window, 429 answers, and the share of the budget
used in every full window while the backlog lasts.

Targets (exit code 1 when one is missed): no rolling window over the limit and no 429; at least 90% of the
budget used while there is a backlog.
"""

from __future__ import annotations

import argparse
import bisect
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from support.harness import (
    World,
    config_tree,
    run_product,
    say,
    set_up_only,
    table,
    verdict,
    wait_until_plex_idle,
)

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
USE_TARGET = 0.90


def most_in_any_window(arrivals: list[float], window: float) -> int:
    """The largest number of arrivals in any half-open interval [t, t + window) starting at an arrival."""
    return max(bisect.bisect_left(arrivals, t + window) - i for i, t in enumerate(arrivals))


def use_while_backlogged(arrivals: list[float], window: float, limit: int) -> float:
    """Mean share of the budget used over every full window [t, t + window) that starts at an arrival and
    ends before the last call (the backlog lasts until then)."""
    last = arrivals[-1]
    shares = [
        (bisect.bisect_left(arrivals, t + window) - i) / limit
        for i, t in enumerate(arrivals)
        if t + window <= last
    ]
    return sum(shares) / len(shares) if shares else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=200, help="calls per window")
    parser.add_argument("--window", type=float, default=10.0, help="window, in seconds")
    args = parser.parse_args()
    say(
        f"starting the simulated Plex (medium plant, {args.limit} calls per {args.window:g} s)"
        " and the local CDF"
    )
    world = World("medium", NOW, args.limit, args.window)
    try:
        config = config_tree(world, Path(tempfile.mkdtemp(prefix="bench-budget-")) / "state.db", args.limit)
        # BOM calls run in the budget's fan-out lane, held to half the budget by default; given all of it
        # here, the figure is the limiter's own use (bench/plex_cold_start.py measures the default share)
        config["plex"]["fan-out-share"] = 1.0
        say("cold master-data run (about 1,500 BOM calls queued behind the budget)")
        # `plex-cdf setup` reads the tenant (one call, its own client and budget), so it runs first and
        # the measured run starts with an empty window, as a run started after setup does
        set_up_only(world, config, NOW, own_state=False)
        wait_until_plex_idle(world, args.window)
        run = run_product(world, "master data, cold", config, NOW, only=["master_data"], window_s=args.window)
        log = world.plex_log()
    finally:
        world.close()
    arrivals = sorted(entry[0] for entry in log)
    refused = sum(1 for entry in log if entry[4] == 429)
    most = most_in_any_window(arrivals, args.window)
    used = use_while_backlogged(arrivals, args.window, args.limit)
    span = arrivals[-1] - arrivals[0]
    print(f"plex-cdf against a Plex budget of {args.limit} calls per {args.window:g} s, backlog of BOM calls")
    headers = ["run", "wall s", "Plex calls", "429s", "most in a window", "limit", "budget used", "calls/s"]
    rows = [
        [run.name, run.wall_s, len(arrivals), refused, most, args.limit, f"{used:.1%}", len(arrivals) / span]
    ]
    print(table(headers, rows))
    checks = [
        (
            f"budget never exceeded (most in any {args.window:g} s: {most} of {args.limit},"
            f" {refused} answered 429)",
            most <= args.limit and refused == 0,
        ),
        (
            f"at least {USE_TARGET:.0%} of the budget used while there is a backlog ({used:.1%})",
            used >= USE_TARGET,
        ),
        ("no resource failed" + (f": {run.failed[:3]}" if run.failed else ""), not run.failed),
    ]
    return verdict(checks, miss="MISS")


if __name__ == "__main__":
    sys.exit(main())
