"""Transform speed of the inventory, quality and performance domains: records per second of the pure
transforms (no I/O), on 100,000 records cloned from the unit-test fixtures.

Run: .venv/bin/python bench/transform_speed.py
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from plex_cdf.domains import inventory, performance, quality
from plex_cdf.domains.resource import Context, TimeRange

FIXTURES = Path(__file__).resolve().parents[1] / "tests/unit/fixtures/plex_ivq"
PCN = "340884"
COUNT = 100_000
NOW = datetime(2026, 11, 27, 15, tzinfo=UTC)
DAY = TimeRange(datetime(2026, 11, 27, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC))


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def containers() -> tuple[str, int, float]:
    base = load("containers")
    records = [{**base[i % len(base)], "serialNo": f"S{i:09d}"} for i in range(COUNT)]
    context = Context(PCN, "containers", NOW)

    def run() -> None:
        [item for record in records for item in inventory.container_to_asset(record, context)]
        list(inventory.finish_wip(records, context))

    return "containers -> assets + WIP series", COUNT, timed(run)


def checksheets() -> tuple[str, int, float]:
    base = load("checksheets")
    records = [{**base[0], "Checksheet_No": i} for i in range(COUNT)]
    lookups = {"part_key_map": load("part_key_map"), "workcenter_key_map": load("workcenter_key_map")}
    context = Context(PCN, "checksheets", NOW, DAY, lookups)
    return (
        "checksheets -> events",
        COUNT,
        timed(lambda: [item for record in records for item in quality.checksheet_to_event(record, context)]),
    )


def oee() -> tuple[str, int, float]:
    """Status entries of 150 workcenters plus 100,000 production entries into OEE series for one day."""
    base = load("workcenter_status_entries")
    workcenters = [f"7e1d0c2b-9a8f-4e6d-8c5b-4a3f2e1d{i:04d}" for i in range(150)]
    entries = [{**base[i % len(base)], "workcenterId": workcenters[i % 150]} for i in range(COUNT)]
    lookups = {
        name: load(name)
        for name in ("production_entries", "scrap_entries", "workcenter_statuses", "approved_workcenters")
    }
    produced = lookups["production_entries"]
    lookups["production_entries"] = [
        {**produced[i % len(produced)], "workcenterId": workcenters[i % 150]} for i in range(COUNT)
    ]
    context = Context(PCN, "oee_from_connect", NOW, DAY, lookups)

    def run() -> None:
        [list(performance.check_status_entry(entry, context)) for entry in entries]
        list(performance.finish_connect(entries, context))

    return "status + production entries -> OEE (150 workcenters)", COUNT, timed(run)


def main() -> None:
    print("pure transforms, records cloned from tests/unit/fixtures/plex_ivq")
    print(f"{'transform':<54}{'records':>10}{'seconds':>9}{'records/s':>11}")
    for name, count, seconds in (containers(), checksheets(), oee()):
        print(f"{name:<54}{count:>10,}{seconds:>9.2f}{count / seconds:>11,.0f}")


if __name__ == "__main__":
    main()
