"""The call budget one tenant's calls share: at most `limit` calls in any rolling window.

A call holds a slot from the moment it is granted until its answer is back, and the slot stays counted for
one window after that. Plex sees a request somewhere between those two moments, so no rolling window on
Plex's side can ever hold more than `limit` of them, whatever the latency. With a backlog, a freed slot is
granted at once, so the budget is used up to the latency of a call per window.

Two lanes share the budget. The main lane (lists and windowed history) is FIFO and always goes first.
The fan-out lane (one call per parent or per record: BOMs per part, operations per job, status per
workcenter) is granted a slot only while no main-lane call waits, and never holds more than
`fan_out_share` of the window, so a backlog of per-parent calls can never delay history.

`stop()` ends every wait at once (SIGTERM): an acquire that would have to wait (for a slot, a 429 pause
or, through `unless_stopping`, a retry backoff) raises `BudgetClosed`, so a stop never waits for a window
to age out, while calls that fit go on and calls in flight finish. `close()` also abandons the calls in
flight (`interruptible`), for when the grace period is running out.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
Lane = Literal["main", "fan-out"]
T = TypeVar("T")

_NOTICEABLE_WAIT_S = 0.001  # shorter waits are lock hand-overs, not throttling
_LANE: contextvars.ContextVar[Lane] = contextvars.ContextVar("plex_budget_lane", default="main")


@contextlib.contextmanager
def fan_out_lane() -> Iterator[None]:
    """Calls made inside (including tasks started inside) go through the budget's fan-out lane."""
    token = _LANE.set("fan-out")
    try:
        yield
    finally:
        _LANE.reset(token)


def current_lane() -> Lane:
    return _LANE.get()


class BudgetClosed(Exception):
    """The budget was closed (the process is stopping): no further Plex call is made."""


@dataclass
class BudgetStats:
    granted: int = 0
    granted_fan_out: int = 0
    throttled_waits: int = 0  # acquisitions that had to wait (for a free slot or for a 429 pause)
    throttled_seconds: float = 0.0
    paused_seconds: float = 0.0  # the part of the waiting that Plex imposed (429 Retry-After)


class _Slots:
    """Calls of one kind counted against the window: in flight, plus finished ones not yet aged out."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.finished: deque[float] = deque()  # completion times, oldest first

    def expire(self, now: float, window_s: float) -> None:
        while self.finished and self.finished[0] + window_s <= now:
            self.finished.popleft()

    def count(self) -> int:
        return self.in_flight + len(self.finished)


class CallBudget:
    """Rolling-window limiter shared by every endpoint of a tenant. `clock` and `sleep` are injectable
    (seconds) so tests can run it on a virtual clock."""

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        fan_out_share: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError(f"call budget needs limit >= 1 and window > 0, got {limit} per {window_s} s")
        if not 0 < fan_out_share <= 1:
            raise ValueError(f"fan-out share must be in (0, 1], got {fan_out_share}")
        self.limit = limit
        self.window_s = window_s
        self.fan_out_limit = max(1, math.floor(limit * fan_out_share))
        self.stats = BudgetStats()
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()  # FIFO among main-lane waiters
        self._fan_out_lock = asyncio.Lock()  # FIFO among fan-out waiters
        self._all = _Slots()
        self._fan_out = _Slots()
        self._main_waiting = 0
        self._main_idle = asyncio.Event()
        self._main_idle.set()
        self._released = asyncio.Event()
        self._stopping = asyncio.Event()
        self._closed = asyncio.Event()
        self._waits: set[asyncio.Future[Any]] = set()  # through `unless_stopping`: a stop ends them
        self._in_flight: set[asyncio.Future[Any]] = set()  # through `interruptible`: closing ends them
        self._paused_until = 0.0
        self._first_grant: float | None = None

    # -- acquire / release ------------------------------------------------------------------------

    async def acquire(self, lane: Lane | None = None) -> None:
        """Wait until a call fits in the window (and, for the fan-out lane, in its share with no main-lane
        call waiting), then count it as in flight. BudgetClosed once the budget is closed."""
        lane = lane or current_lane()
        started = self._clock()
        if lane == "main":
            await self._acquire_main()
        else:
            await self._acquire_fan_out()
        waited = self._clock() - started
        if waited > _NOTICEABLE_WAIT_S:
            self.stats.throttled_waits += 1
            self.stats.throttled_seconds += waited

    def release(self, lane: Lane | None = None) -> None:
        """The call's answer (or failure) is back: its slot now ages out one window from now."""
        now = self._clock()
        for slots in self._slots_of(lane or current_lane()):
            slots.in_flight -= 1
            slots.finished.append(now)
        self._released.set()

    async def _acquire_main(self) -> None:
        self._main_waiting += 1
        self._main_idle.clear()
        try:
            async with self._lock:
                while not await self._fits_or_wait("main"):
                    pass
                self._grant("main")
        finally:
            self._main_waiting -= 1
            if self._main_waiting == 0:
                self._main_idle.set()

    async def _acquire_fan_out(self) -> None:
        async with self._fan_out_lock:
            while True:
                if self._main_waiting:
                    await self._interruptible_wait(self._main_idle)
                    continue
                if await self._fits_or_wait("fan-out"):  # no await between the checks and the grant
                    self._grant("fan-out")
                    return

    def _grant(self, lane: Lane) -> None:
        for slots in self._slots_of(lane):
            slots.in_flight += 1
        self.stats.granted += 1
        if lane == "fan-out":
            self.stats.granted_fan_out += 1
        if self._first_grant is None:
            self._first_grant = self._clock()

    def _slots_of(self, lane: Lane) -> tuple[_Slots, ...]:
        return (self._all, self._fan_out) if lane == "fan-out" else (self._all,)

    async def _fits_or_wait(self, lane: Lane) -> bool:
        """True when a call of `lane` fits now; otherwise waits for the next moment one might, False
        (BudgetClosed instead of waiting once the budget is stopping)."""
        now = self._clock()
        if now < self._paused_until:
            wait = self._paused_until - now
            self.stats.paused_seconds += wait
            await self._nap(wait)
            return False
        for slots, limit in self._limits(lane):
            slots.expire(now, self.window_s)
            if slots.count() < limit:
                continue
            if slots.finished:
                await self._nap(slots.finished[0] + self.window_s - now)
            else:  # every slot is in flight: only a release can start the clock on one
                self._released.clear()
                await self._interruptible_wait(self._released)
            return False
        return True

    def _limits(self, lane: Lane) -> tuple[tuple[_Slots, int], ...]:
        whole = (self._all, self.limit)
        return (whole, (self._fan_out, self.fan_out_limit)) if lane == "fan-out" else (whole,)

    # -- stopping ---------------------------------------------------------------------------------

    def stop(self) -> None:
        """No more waiting: every wait ends with BudgetClosed; a call that fits is still granted."""
        self._stopping.set()
        for wait in list(self._waits):
            wait.cancel()

    def close(self) -> None:
        """No more calls: as `stop`, and every call in flight through `interruptible` is abandoned."""
        self.stop()
        self._closed.set()
        for call in list(self._in_flight):
            call.cancel()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def interruptible(self, work: Awaitable[T]) -> T:
        """`work`'s result (a call in flight), unless the budget is closed first: then BudgetClosed."""
        message = "the Plex call was abandoned: the process is stopping"
        return await _unless(self._closed, self._in_flight, work, message)

    async def unless_stopping(self, work: Awaitable[T]) -> T:
        """`work`'s result (a wait), unless a stop comes first: then BudgetClosed."""
        message = "no further Plex call: the process is stopping"
        return await _unless(self._stopping, self._waits, work, message)

    async def _nap(self, seconds: float) -> None:
        await self.unless_stopping(self._sleep(seconds))

    async def _interruptible_wait(self, event: asyncio.Event) -> None:
        await self.unless_stopping(event.wait())

    # -- figures ----------------------------------------------------------------------------------

    def pause(self, seconds: float) -> None:
        """Plex asked every caller to back off (429 with Retry-After): hold all grants for `seconds`."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def in_window(self) -> int:
        """Calls counted against the window right now (in flight plus recently finished)."""
        self._all.expire(self._clock(), self.window_s)
        return self._all.count()

    def utilisation(self) -> float:
        """Granted calls over what the budget allowed since the first grant (0..1, a rough figure)."""
        if self._first_grant is None:
            return 0.0
        windows = max(1.0, (self._clock() - self._first_grant) / self.window_s)
        return min(1.0, self.stats.granted / (windows * self.limit))


async def _unless(
    event: asyncio.Event, watched: set[asyncio.Future[Any]], work: Awaitable[T], message: str
) -> T:
    """`work`'s result, unless `event` is set first: then `work` is cancelled and BudgetClosed raised.
    `work` runs as a task held in `watched`, which whoever sets `event` cancels (one task a call, no
    waiter on the event: this wraps every Plex call)."""
    task = asyncio.ensure_future(work)
    if event.is_set():
        task.cancel()
        raise BudgetClosed(message)
    watched.add(task)
    try:
        return await task
    except asyncio.CancelledError:
        this = asyncio.current_task()
        if event.is_set() and task.cancelled() and (this is None or not this.cancelling()):
            raise BudgetClosed(message) from None
        raise  # this task itself is being cancelled
    finally:
        watched.discard(task)
