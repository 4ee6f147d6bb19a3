"""Cold, warm and incremental plex-cdf runs over the medium plant, against the floor measured in the same run.

Run: .venv/bin/python bench/extract_medium.py [--rounds 2] [--target data-modeling]
The simulated Plex (medium plant, 100,000 calls a minute so the limiter stays out of the figure) and the
local CDF run in one child process (`--world` picks another of harness.World's layouts, for comparison; the
targets are measured with the default); each plex-cdf pass runs in another (`plex_cdf.app.extract`, once), so
its wall time, CPU seconds and peak RSS are its own. The floor replays the cold run's exact Plex requests
and CDF write bodies with bare httpx2 clients (no logic: Plex reads at the product's 8-way concurrency,
assets in order, other writes 4-way, both sides overlapping) into a CDF emptied and set up again; its CPU
column is the replaying clients' own CPU, the part of the product's that is HTTP alone.
Cold run and floor alternate `--rounds` times on a fresh CDF and state; the best of each is compared
(the machine is shared, so single figures swing). Then, on the last cold run's state: a warm rerun with
nothing changed, and an incremental run after the simulated clock advances an hour.

Targets, each printed PASS or FAIL (exit code 1 when one fails): cold within 1.5x the floor's wall time;
the warm rerun makes zero CDF write calls and only the Plex calls its resource modes need (see
`mode_excess`). With `--target data-modeling` the same runs write Core Data Model instances, and one more
run measures a bulk load the way the classic target's 900-items-per-call figure is measured
(bench/backfill_large.py): a backfill of the production domain over the `--bulk-days` before the cold run's
first reach (all new records), whose instances per apply call (from its recorded request bodies) must
average at least 900. The cold run's own average is printed beside it (information: about 40 resources,
many small, each waiting for its own acknowledgement).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from plex_cdf.domains.registry import ALL
from plex_cdf.domains.resource import DataSourceWindow, PerParent, Resource, Snapshot, Window
from support.harness import (
    Floor,
    Run,
    World,
    config_tree,
    replay_floor,
    run_product,
    say,
    set_up_only,
    split_recording,
    table,
    verdict,
)

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
BUDGET = 100_000  # calls per minute, on both sides
COLD_TARGET = 1.5
ADVANCE = timedelta(hours=1)
FIRST_REACH = timedelta(days=7)  # the default `first-run-reach`: what the cold run reads
BULK_TARGET = 900  # instances per apply call on a bulk load (issue 15)


def mode_excess(warm: Run, cold: Run) -> list[str]:
    """Plex calls of the warm rerun beyond what the resource modes need with nothing changed, per path:
    a snapshot lists everything again (one call; as many as the cold run when only snapshots use the
    path, which covers lookups other domains re-read), a window re-reads its lookback (at most 2 calls),
    a per-parent row polls every parent only when it says so (`only_changed=False`), otherwise none."""
    rows_by_path: dict[str, list[Resource]] = {}
    for row in ALL:
        path = row.path if row.api != "datasource" else f"/api/datasources/{row.datasource_id}/execute"
        rows_by_path.setdefault(path, []).append(row)
    excess = []
    for path, rows in rows_by_path.items():
        pattern = re.compile("^[A-Z]+ " + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$")
        warm_calls = sum(n for seen, n in warm.plex_paths.items() if pattern.match(seen))
        cold_calls = sum(n for seen, n in cold.plex_paths.items() if pattern.match(seen))
        if all(isinstance(r.mode, Snapshot) or _polls_every_parent(r) for r in rows):
            allowed = cold_calls
        else:
            allowed = sum(_needs(r) for r in rows)
        if warm_calls > allowed:
            names = ", ".join(r.name for r in rows)
            excess.append(f"{path} ({names}): {warm_calls} calls, the modes need at most {allowed}")
    return excess


def _polls_every_parent(row: Resource) -> bool:
    return isinstance(row.mode, PerParent) and not row.mode.only_changed


def _needs(row: Resource) -> int:
    if isinstance(row.mode, Snapshot):
        return 1
    if isinstance(row.mode, Window | DataSourceWindow):
        return 2  # the lookback, possibly cut at a window boundary
    return 0  # per parent, only changed parents: none changed


def apply_sizes(recording: Path, world: World) -> list[int]:
    """Instances per `/models/instances` apply call of a recorded run, from its request bodies."""
    sizes = []
    for entry in split_recording(recording, world)[1]:
        if not entry[2].split("?")[0].endswith("/models/instances"):
            continue
        body = entry[4]
        raw = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
        sizes.append(len(json.loads(raw)["items"]))
    return sizes


def per_call(sizes: list[int]) -> str:
    full = sum(1 for n in sizes if n >= BULK_TARGET)
    each = f"{average(sizes):,.0f} per call; {full} of {BULK_TARGET}+"
    return f"{sum(sizes):,} instances in {len(sizes)} apply calls ({each})"


def average(sizes: list[int]) -> float:
    return sum(sizes) / len(sizes) if sizes else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--target", choices=("classic", "data-modeling"), default="classic")
    parser.add_argument(
        "--bulk-days", type=int, default=14, help="days the bulk load backfills (data modeling)"
    )
    parser.add_argument(
        "--world",
        choices=World.LAYOUTS,
        default="one",
        help="how the simulated Plex and the local CDF run (see harness.World); the targets use `one`",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-medium-"))
    say(f"starting the simulated Plex (medium) and the local CDF (world layout: {args.world})")
    world = World("medium", NOW, BUDGET, layout=args.world)
    colds: list[Run] = []
    floors: list[Floor] = []
    cold_sizes: list[int] = []
    bulk: tuple[Run, list[int]] | None = None
    dm = args.target == "data-modeling"
    try:
        for round_ in range(1, args.rounds + 1):
            world.ask("clear_cdf")
            config = config_tree(world, folder / f"state-{round_}.db", BUDGET)
            config["destination"] = {"type": args.target}
            say(f"round {round_}: cold run")
            colds.append(
                run_product(world, f"cold #{round_}", config, NOW, setup=True, record=folder / "cold.pkl")
            )
            if round_ == args.rounds:
                say("warm rerun (nothing changed)")
                warm = run_product(world, "warm", config, NOW)
                world.ask("advance", seconds=ADVANCE.total_seconds())
                say(f"incremental run ({ADVANCE} later)")
                incremental = run_product(world, "incremental +1h", config, NOW + ADVANCE)
                if dm:
                    end = NOW - FIRST_REACH
                    span = (end - timedelta(days=args.bulk_days), end)
                    say(f"bulk load: production backfill of {args.bulk_days} days before the first reach")
                    name = f"bulk {args.bulk_days} d"
                    run = run_product(
                        world,
                        name,
                        config,
                        NOW + ADVANCE,
                        backfill=span,
                        only=["production"],
                        record=folder / "bulk.pkl",
                    )
                    bulk = (run, apply_sizes(folder / "bulk.pkl", world))
            say(f"round {round_}: floor (bare replay)")
            world.ask("clear_cdf")
            set_up_only(world, config, NOW)
            if dm:
                cold_sizes = apply_sizes(folder / "cold.pkl", world)
            floors.append(replay_floor(folder / "cold.pkl", world))
    finally:
        world.close()
    return report(colds, floors, warm, incremental, cold_sizes, bulk)


def report(
    colds: list[Run],
    floors: list[Floor],
    warm: Run,
    incremental: Run,
    cold_sizes: list[int],
    bulk: tuple[Run, list[int]] | None,
) -> int:
    rows: list[list[object]] = [
        [
            r.name,
            r.wall_s,
            r.fetched,
            round(r.records_per_s),
            r.plex_calls,
            r.cdf_writes,
            round(r.items_per_write),
            round(r.peak_rss_mb),
            r.cpu_s,
        ]
        for r in [*colds, warm, incremental, *([bulk[0]] if bulk else [])]
    ]
    rows += [
        [f"floor #{i}", f.wall_s, "", "", f.plex_requests, f.cdf_writes, "", "", f.cpu_s]
        for i, f in enumerate(floors, 1)
    ]
    print("plex-cdf, medium plant, one tenant, every domain (first run reaches 7 days back)")
    print(
        table(
            [
                "run",
                "wall s",
                "records",
                "records/s",
                "Plex calls",
                "CDF writes",
                "items/write",
                "peak RSS MB",
                "CPU s",
            ],
            rows,
        )
    )
    best_cold, best_floor = min(r.wall_s for r in colds), min(f.wall_s for f in floors)
    ratio = best_cold / best_floor
    excess = mode_excess(warm, colds[-1])
    failures = [f for r in [*colds, warm, incremental, *([bulk[0]] if bulk else [])] for f in r.failed] + [
        f"floor #{i}: {f.failures} requests failed" for i, f in enumerate(floors, 1) if f.failures
    ]
    checks = [
        (
            f"cold run within {COLD_TARGET}x the floor"
            f" (best {best_cold:.2f} s / best {best_floor:.2f} s = {ratio:.2f}x)",
            ratio <= COLD_TARGET,
        ),
        (f"warm rerun makes zero CDF write calls ({warm.cdf_writes})", warm.cdf_writes == 0),
        (
            f"warm rerun makes only the Plex calls its modes need ({warm.plex_calls} calls"
            + (f"; {'; '.join(excess)})" if excess else ")"),
            not excess,
        ),
        (
            "no resource failed, no floor request failed" + (f": {failures[:3]}" if failures else ""),
            not failures,
        ),
    ]
    if bulk is not None:
        run, sizes = bulk
        checks.append(
            (
                f"{run.name} (production backfill): {BULK_TARGET}+ instances per apply: {per_call(sizes)}",
                bool(sizes) and average(sizes) >= BULK_TARGET,
            )
        )
        print(f"\ncold run (information): {per_call(cold_sizes)}")
    return verdict(checks)


if __name__ == "__main__":
    sys.exit(main())
