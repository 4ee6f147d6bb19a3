"""The call budget one tenant's calls share: at most `limit` calls in any rolling window.

A call holds a slot from the moment it is granted until its answer is back, and the slot stays counted for
one window after that. Plex sees a request somewhere between those two moments, so no rolling window on
Plex's side can ever hold more than `limit` of them, whatever the latency. With a backlog, a freed slot is
granted at once, so the budget is used up to the latency of a call per window.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

_NOTICEABLE_WAIT_S = 0.001  # shorter waits are lock hand-overs, not throttling


@dataclass
class BudgetStats:
    granted: int = 0
    throttled_waits: int = 0  # acquisitions that had to wait (for a free slot or for a 429 pause)
    throttled_seconds: float = 0.0
    paused_seconds: float = 0.0  # the part of the waiting that Plex imposed (429 Retry-After)


class CallBudget:
    """Rolling-window limiter shared by every endpoint of a tenant. `clock` and `sleep` are injectable
    (seconds) so tests can run it on a virtual clock."""

    def __init__(
        self, limit: int, window_s: float, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError(f"call budget needs limit >= 1 and window > 0, got {limit} per {window_s} s")
        self.limit = limit
        self.window_s = window_s
        self.stats = BudgetStats()
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._in_flight = 0
        self._finished: deque[float] = deque()  # completion times still inside the window, oldest first
        self._released = asyncio.Event()
        self._paused_until = 0.0
        self._first_grant: float | None = None

    async def acquire(self) -> None:
        """Wait until a call fits in the window, then count it as in flight. FIFO among waiters."""
        started = self._clock()
        async with self._lock:
            while not await self._fits_or_wait():
                pass
            waited = self._clock() - started
            if waited > _NOTICEABLE_WAIT_S:
                self.stats.throttled_waits += 1
                self.stats.throttled_seconds += waited
            self._in_flight += 1
            self.stats.granted += 1
            if self._first_grant is None:
                self._first_grant = self._clock()

    def release(self) -> None:
        """The call's answer (or failure) is back: its slot now ages out one window from now."""
        self._in_flight -= 1
        self._finished.append(self._clock())
        self._released.set()

    def pause(self, seconds: float) -> None:
        """Plex asked every caller to back off (429 with Retry-After): hold all grants for `seconds`."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def in_window(self) -> int:
        """Calls counted against the window right now (in flight plus recently finished)."""
        self._expire(self._clock())
        return self._in_flight + len(self._finished)

    def utilisation(self) -> float:
        """Granted calls over what the budget allowed since the first grant (0..1, a rough figure)."""
        if self._first_grant is None:
            return 0.0
        windows = max(1.0, (self._clock() - self._first_grant) / self.window_s)
        return min(1.0, self.stats.granted / (windows * self.limit))

    async def _fits_or_wait(self) -> bool:
        now = self._clock()
        if now < self._paused_until:
            wait = self._paused_until - now
            self.stats.paused_seconds += wait
            await self._sleep(wait)
            return False
        self._expire(now)
        if self._in_flight + len(self._finished) < self.limit:
            return True
        if self._finished:
            await self._sleep(self._finished[0] + self.window_s - now)
        else:  # every slot is in flight: only a release can start the clock on one
            self._released.clear()
            await self._released.wait()
        return False

    def _expire(self, now: float) -> None:
        while self._finished and self._finished[0] + self.window_s <= now:
            self._finished.popleft()
