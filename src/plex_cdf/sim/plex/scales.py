"""How big a plant each scale builds. Small keeps a product's full run cheap in calls (the demo)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ScaleName = Literal["small", "medium", "large"]


@dataclass(frozen=True)
class Scale:
    workcenters: int
    parts: int
    jobs: int
    containers: int
    history_days: int  # days of history before the start instant
    future_days: int  # days of scheduled work after it, which the clock turns into history
    entry_minutes: int  # typical minutes between two production entries of a running job
    buildings: int
    employees: int
    locations: int
    suppliers: int
    customers: int
    operations: int
    production_lines: int
    problems_per_day: int


SCALES: dict[str, Scale] = {
    "small": Scale(8, 40, 100, 60, 14, 7, 30, 2, 25, 20, 10, 8, 6, 2, 4),
    "medium": Scale(40, 1_500, 10_000, 2_000, 60, 30, 30, 3, 200, 200, 300, 80, 20, 8, 20),
    "large": Scale(150, 15_000, 120_000, 10_000, 90, 20, 6, 4, 650, 1_270, 1_575, 109, 122, 20, 60),
}


def scale_named(name: str) -> Scale:
    try:
        return SCALES[name]
    except KeyError:
        raise ValueError(f"unknown scale {name!r}; expected one of {', '.join(SCALES)}") from None
