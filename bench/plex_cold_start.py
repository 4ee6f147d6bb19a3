"""Plex's 200 calls a minute as the wall clock: first data, prompt stop, cold calls, memory, steady state.

Run: .venv/bin/python bench/plex_cold_start.py [--scale large] [--factor 12] [--first-data-factor 1]
(`make bench` runs it on the large plant). One world (simulated Plex + local CDF) for four phases:

1. First data: a cold service start at Plex's real budget (200 calls a minute; `--first-data-factor` N
   narrows the window to 60/N s and runs both clocks N times faster): the time until a production entry
   and a job event, each linked to its assets, are in CDF.
2. Stop promptly: SIGTERM right after that (the fan-out lane is then waiting on the budget for BOM and
   job-operation calls): the time to exit, the exit status, and no resource failed.
3. Cold pass: `run --once` on an empty CDF and state, the budget lifted so only calls are counted: Plex
   calls per path, the distinct requests among them (URL and body; a repeat is a retry), against the
   minimum (one per list, one per window, one per parent that has children: parts that are not raw
   material, workcenters; for job operations the jobs listed), and the product's peak RSS.
4. Steady state: the service from the cold pass's state for one simulated hour at default intervals, the
   budget and both clocks compressed `--factor` times (200 calls per 60/factor s): the share of the
   budget used.

Figures are in real-budget minutes (wall time x the phase's factor). Targets (exit code 1 when one is
missed): first data within 3 minutes; exit within 30 s of SIGTERM with status 0; every path at its
minimum; peak RSS at most 400 MB; steady state at most 10% of the budget.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2

from plex_cdf.config.models import DEFAULT_INTERVALS, hyphenated
from support.harness import (
    HERE,
    World,
    config_tree,
    recorded,
    run_product,
    say,
    set_up_only,
    table,
    verdict,
    wait_until_plex_idle,
)

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
LIMIT = 200  # Plex's calls a minute
FIRST_DATA_TARGET_MIN = 3.0
STOP_GRACE_S = 30.0
RSS_TARGET_MB = 400.0
STEADY_TARGET = 0.10
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PER_PARENT = {
    "GET /engineering/v1/boms": "parts that are not raw material",
    "GET /scheduling/v1/jobs/{id}/operations": "jobs listed",
    "GET /production/v1/control/workcenters/{id}": "workcenters",
}


def product_config(world: World, state: Path, factor: float, calls: int = LIMIT) -> dict[str, Any]:
    """The default intervals, divided by the factor both clocks and the budget are compressed by."""
    tree = config_tree(world, state, calls)
    tree["extractor"] = {
        hyphenated(domain): {"interval": f"{interval.total_seconds() / factor:g}s"}
        for domain, interval in DEFAULT_INTERVALS.items()
    }
    return tree


class Service:
    """The product as a service (bench/support/product.py with once=false) in its own process."""

    def __init__(self, config: dict[str, Any], now: str, factor: float) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="bench-cold-"))
        spec = {
            "config": config,
            "now": now,
            "once": False,
            "clock_rate": factor,
            "window_s": 60.0 / factor,
            "stats": str(self.folder / "stats.json"),
        }
        (self.folder / "spec.json").write_text(json.dumps(spec))
        self.began = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "product.py"), str(self.folder / "spec.json")]
        )

    def stop(self) -> tuple[float, int, list[str]]:
        """SIGTERM; (seconds to exit, exit status, failed resources)."""
        sent = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return 120.0, -9, ["no exit within 120 s"]
        took = time.monotonic() - sent
        stats = self.folder / "stats.json"
        failed = json.loads(stats.read_text())["failed"] if stats.exists() else ["no figures written"]
        return took, code, failed


def first_data(world: World, factor: float) -> tuple[float, float, int, list[str]]:
    """Phase 1 and 2: (real-budget minutes to first linked data, seconds to exit, status, failures)."""
    world.ask("budget", calls=LIMIT, window_s=60.0 / factor)
    now = world.ask("clock", rate=factor)["now"]
    config = product_config(world, Path(tempfile.mkdtemp(prefix="bench-first-")) / "state.db", factor)
    set_up_only(world, config, NOW, own_state=False)
    wait_until_plex_idle(world, 60.0 / factor)
    world.ask("reset")
    say(
        f"cold service start, {LIMIT} calls per {60 / factor:g} s: waiting for linked production"
        " and job events"
    )
    service = Service(config, now, factor)
    deadline = service.began + 4 * FIRST_DATA_TARGET_MIN * 60 / factor
    seen = {"production": 0, "job": 0}
    while time.monotonic() < deadline and not all(seen.values()) and service.process.poll() is None:
        seen = world.ask("first_data")
        time.sleep(0.2)
    minutes = (time.monotonic() - service.began) * factor / 60 if all(seen.values()) else float("inf")
    say("SIGTERM")
    took, code, failed = service.stop()
    return minutes, took, code, failed


def cold_pass(world: World) -> tuple[Any, dict[str, Any]]:
    """Phase 3: the budget lifted, the clock still, a fresh CDF and state."""
    world.ask("clock", rate=0)
    world.ask("budget", calls=10**7, window_s=60.0)
    world.ask("clear_cdf")
    state = Path(tempfile.mkdtemp(prefix="bench-cold-")) / "state.db"
    config = product_config(world, state, 1.0, calls=10**7)
    set_up_only(world, config, NOW, own_state=False)
    say("cold run --once, budget lifted (counting calls and memory)")
    now = datetime.fromisoformat(world.ask("clock", rate=0)["now"])
    recording = state.parent / "requests.pickle"
    run = run_product(world, "cold run --once", config, now, record=recording)
    return run, {"state": state, "now": now, "recording": recording}


def call_rows(world: World, recording: Path) -> list[list[object]]:
    """Calls per path (ids folded) against the minimum: distinct requests (URL and body) for lists and
    windows, the parents that have children for BOMs and control status."""
    sizes = world.ask("sizes")
    minimum_of = {
        "GET /engineering/v1/boms": sum(n for kind, n in sizes["parts"].items() if kind != "Raw Material"),
        "GET /production/v1/control/workcenters/{id}": sizes["workcenters"],
    }
    calls: dict[str, int] = {}
    distinct: dict[str, set[tuple[str, bytes]]] = {}
    for _, method, url, _, body in recorded(recording):
        if not url.startswith(world.plex_url):
            continue
        path = httpx2.URL(url).path
        key = f"{method} {UUID.sub('{id}', path)}"
        calls[key] = calls.get(key, 0) + 1
        distinct.setdefault(key, set()).add((url, body))
    rows = []
    for key in sorted(calls, key=lambda k: -calls[k]):
        minimum = minimum_of.get(key, len(distinct[key]))
        rows.append([key[:70], calls[key], len(distinct[key]), minimum, len(distinct[key]) - minimum])
    return rows


def steady_state(world: World, cold: dict[str, Any], factor: float) -> tuple[int, float, list[list[object]]]:
    """Phase 4: one simulated hour of service from the cold pass's state; (Plex calls, share used, calls
    per path)."""
    world.ask("budget", calls=LIMIT, window_s=60.0 / factor)
    wait_until_plex_idle(world, 60.0 / factor)
    world.ask("reset")
    now = world.ask("clock", rate=factor)["now"]
    config = product_config(world, cold["state"], factor)
    say(
        f"steady state: one simulated hour ({60 / factor:g} wall minutes),"
        f" {LIMIT} calls per {60 / factor:g} s"
    )
    service = Service(config, now, factor)
    time.sleep(3600 / factor)  # the measured span itself: one simulated hour of service
    log = world.plex_log()
    service.stop()
    per_path = Counter(f"{method} {UUID.sub('{id}', path)}" for _, method, path, _, _ in log)
    rows: list[list[object]] = [[key[:70], n] for key, n in per_path.most_common()]
    return len(log), len(log) / (LIMIT * 60), rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="large")
    parser.add_argument(
        "--factor", type=float, default=12.0, help="steady state: budget and clocks compressed"
    )
    parser.add_argument("--first-data-factor", type=float, default=1.0, help="first data: the same, 1 = real")
    args = parser.parse_args()
    say(f"starting the simulated Plex ({args.scale} plant) and the local CDF")
    world = World(args.scale, NOW, LIMIT, 60.0 / args.first_data_factor)
    try:
        minutes, stop_s, stop_code, stop_failed = first_data(world, args.first_data_factor)
        run, cold = cold_pass(world)
        rows = call_rows(world, cold["recording"])
        steady_calls, steady_share, steady_rows = steady_state(world, cold, args.factor)
    finally:
        world.close()
    print(f"plex-cdf on the {args.scale} plant under Plex's {LIMIT} calls a minute")
    print()
    print(table(["cold pass: Plex calls per path", "calls", "distinct", "minimum", "extra"], rows))
    repeats = sum(int(r[1]) - int(r[2]) for r in rows)  # type: ignore[call-overload]
    total = sum(int(r[1]) for r in rows)  # type: ignore[call-overload]
    fan_out = sum(int(r[1]) for r in rows if str(r[0]) in PER_PARENT)  # type: ignore[call-overload]
    print(
        f"\ncold pass: {total:,} calls ({fan_out:,} per-parent); at {LIMIT} a minute with per-parent calls"
        f" held to half of it: about {max(total / LIMIT, fan_out / (LIMIT / 2)):.0f} real-budget minutes;"
        f" {run.wall_s:.0f} s wall with the budget lifted, peak RSS {run.peak_rss_mb:.0f} MB"
    )
    print()
    print(table(["steady state: Plex calls per path in the simulated hour", "calls"], steady_rows))
    extra = sum(int(r[4]) for r in rows)  # type: ignore[call-overload]
    checks = [
        (
            f"first linked production and job events in CDF after {minutes:.2f} real-budget minutes"
            f" (target {FIRST_DATA_TARGET_MIN:g})",
            minutes <= FIRST_DATA_TARGET_MIN,
        ),
        (
            f"SIGTERM while waiting on the budget: exit {stop_code} after {stop_s:.1f} s"
            f" (grace {STOP_GRACE_S:g} s)" + (f"; failed: {stop_failed[:2]}" if stop_failed else ""),
            stop_code == 0 and stop_s <= STOP_GRACE_S and not stop_failed,
        ),
        (
            f"cold pass: {extra:,} distinct requests above the minimum ({repeats:,} identical repeats:"
            " retries of calls that failed in transit)",
            extra <= 0,
        ),
        ("cold pass: no resource failed" + (f": {run.failed[:3]}" if run.failed else ""), not run.failed),
        (
            f"cold run --once peak RSS {run.peak_rss_mb:.0f} MB (target {RSS_TARGET_MB:g})",
            run.peak_rss_mb <= RSS_TARGET_MB,
        ),
        (
            f"steady state: {steady_calls:,} calls in a simulated hour, {steady_share:.1%} of the budget"
            f" (target {STEADY_TARGET:.0%})",
            steady_share <= STEADY_TARGET,
        ),
    ]
    return verdict(checks)


if __name__ == "__main__":
    sys.exit(main())
