"""The simulator's clock: still by default (the tenant's history ends where it started), live, or fast."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from plex_cdf.sim.plex.timefmt import from_ms, to_ms


class SimClock:
    """Simulated now, in ms since the epoch. `rate` 0 stands still, 1 follows wall time, N runs N times
    faster; `advance` moves it forward in any mode."""

    def __init__(
        self, start: datetime, rate: float = 0.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._lock = threading.Lock()
        self._monotonic = monotonic  # wall seconds; tests substitute their own
        self._base_ms = to_ms(start)
        self._wall_base = monotonic()
        self._rate = rate

    def now_ms(self) -> int:
        with self._lock:
            return self._base_ms + int((self._monotonic() - self._wall_base) * 1000 * self._rate)

    def now(self) -> datetime:
        return from_ms(self.now_ms())

    def set_rate(self, rate: float) -> datetime:
        """Run at `rate` from now on (0 still, 1 wall time, N times faster), continuing from the current
        instant: a benchmark compresses simulated time by the factor it compresses the call budget by."""
        if rate < 0:
            raise ValueError(f"the simulated clock's rate must be 0 or more, not {rate}")
        with self._lock:
            now = self._monotonic()
            self._base_ms += int((now - self._wall_base) * 1000 * self._rate)
            self._wall_base, self._rate = now, rate
            return from_ms(self._base_ms)

    def advance(self, delta: timedelta) -> datetime:
        """Move simulated time forward; new history, job changes, moves and edits appear."""
        if delta < timedelta(0):
            raise ValueError(f"the simulated clock only moves forward, not by {delta}")
        with self._lock:
            self._base_ms += int(delta.total_seconds() * 1000)
        return self.now()


def parse_clock(text: str) -> float:
    """`still`, `live` or `fast=N` as a rate of simulated seconds per wall second."""
    if text == "still":
        return 0.0
    if text == "live":
        return 1.0
    if text.startswith("fast="):
        try:
            rate = float(text.removeprefix("fast="))
        except ValueError:
            rate = -1.0
        if rate > 0:
            return rate
    raise ValueError(f"--clock {text!r}: expected still, live or fast=N with N > 0")
