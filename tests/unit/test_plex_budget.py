"""The call budget: never more than `limit` calls in any rolling window, and nearly all of it used when
there is a backlog. Runs on virtual time, so figures are exact and the suite is instant."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from plex_cdf.plex.budget import BudgetClosed, CallBudget, Lane

T = TypeVar("T")


class VirtualTime:
    """A clock and a sleep for code under test: time only moves when every task is waiting on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + max(0.0, seconds), next(self._seq), future))
        await future

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run(self._drive(coro))

    async def _drive(self, coro: Coroutine[Any, Any, T]) -> T:
        task = asyncio.ensure_future(coro)
        idle_rounds = 0
        while not task.done():
            for _ in range(20):
                await asyncio.sleep(0)
            if task.done():
                break
            if self._timers:
                when, _, future = heapq.heappop(self._timers)
                self.now = max(self.now, when)
                future.set_result(None)
                idle_rounds = 0
            else:
                idle_rounds += 1
                assert idle_rounds < 100, "deadlock: tasks wait on something other than virtual time"
        return task.result()


def max_in_any_window(times: list[float], window: float) -> int:
    """The most events inside any half-open window [t, t + window)."""
    ordered = sorted(times)
    best = 0
    start = 0
    for end, t in enumerate(ordered):
        while ordered[start] + window <= t:
            start += 1
        best = max(best, end - start + 1)
    return best


def run_backlog(vt: VirtualTime, budget: CallBudget, calls: int, workers: int, latency: float) -> list[float]:
    """`workers` tasks drain a backlog of `calls`; returns when each call reached 'Plex' (mid-flight)."""
    arrivals: list[float] = []
    queue = iter(range(calls))

    async def worker() -> None:
        for _ in queue:
            await budget.acquire()
            try:
                await vt.sleep(latency / 2)
                arrivals.append(vt.now)
                await vt.sleep(latency / 2)
            finally:
                budget.release()

    async def all_workers() -> None:
        await asyncio.gather(*(worker() for _ in range(workers)))

    vt.run(all_workers())
    return arrivals


def test_a_backlog_never_exceeds_the_limit_in_any_rolling_window() -> None:
    vt = VirtualTime()
    budget = CallBudget(40, 2.0, clock=vt.clock, sleep=vt.sleep)
    arrivals = run_backlog(vt, budget, calls=400, workers=8, latency=0.05)
    assert len(arrivals) == 400
    assert max_in_any_window(arrivals, 2.0) <= 40, "Plex would have answered 429: budget exceeded"


def test_a_backlog_uses_at_least_90_percent_of_the_budget() -> None:
    vt = VirtualTime()
    budget = CallBudget(40, 2.0, clock=vt.clock, sleep=vt.sleep)
    arrivals = run_backlog(vt, budget, calls=400, workers=8, latency=0.05)
    elapsed = max(arrivals) - min(arrivals)
    allowed = 40 * elapsed / 2.0
    assert len(arrivals) >= 0.9 * allowed, f"only {len(arrivals)} calls where {allowed:.0f} were allowed"


def test_slow_calls_stay_within_the_limit_whatever_their_latency() -> None:
    vt = VirtualTime()
    budget = CallBudget(10, 1.0, clock=vt.clock, sleep=vt.sleep)
    arrivals = run_backlog(vt, budget, calls=60, workers=12, latency=3.0)
    assert max_in_any_window(arrivals, 1.0) <= 10


def test_a_pause_holds_every_caller_until_it_ends() -> None:
    vt = VirtualTime()
    budget = CallBudget(100, 60.0, clock=vt.clock, sleep=vt.sleep)

    async def paused_call() -> float:
        budget.pause(5.0)
        await budget.acquire()
        budget.release()
        return vt.now

    assert vt.run(paused_call()) == pytest.approx(5.0)
    assert budget.stats.paused_seconds == pytest.approx(5.0)
    assert budget.stats.throttled_waits == 1


def test_an_idle_budget_grants_at_once_and_reports_its_use() -> None:
    vt = VirtualTime()
    budget = CallBudget(4, 1.0, clock=vt.clock, sleep=vt.sleep)

    async def four_calls() -> None:
        for _ in range(4):
            await budget.acquire()
            budget.release()

    vt.run(four_calls())
    assert vt.now == 0.0, "calls within the limit must not wait"
    assert budget.in_window() == 4
    assert budget.utilisation() == 1.0
    vt.now = 1.0
    assert budget.in_window() == 0, "calls older than one window no longer count"


def test_a_nonsense_budget_is_refused_with_its_figures() -> None:
    with pytest.raises(ValueError, match="0 per 60"):
        CallBudget(0, 60)


def lane_backlog(
    vt: VirtualTime, budget: CallBudget, calls: int, workers: int, lane: Lane, arrivals: list[float]
) -> Coroutine[Any, Any, None]:
    queue = iter(range(calls))

    async def worker() -> None:
        for _ in queue:
            await budget.acquire(lane)
            try:
                await vt.sleep(0.01)
                arrivals.append(vt.now)
            finally:
                budget.release(lane)

    async def all_workers() -> None:
        await asyncio.gather(*(worker() for _ in range(workers)))

    return all_workers()


def test_the_fan_out_lane_never_holds_more_than_its_share_of_the_window() -> None:
    vt = VirtualTime()
    budget = CallBudget(40, 2.0, fan_out_share=0.25, clock=vt.clock, sleep=vt.sleep)
    arrivals: list[float] = []
    vt.run(lane_backlog(vt, budget, 100, 8, "fan-out", arrivals))
    assert len(arrivals) == 100
    assert max_in_any_window(arrivals, 2.0) <= 10, "per-parent calls took more than their 25% share"
    assert budget.stats.granted_fan_out == 100


def test_history_within_the_rest_of_the_budget_never_waits_behind_a_fan_out_backlog() -> None:
    vt = VirtualTime()
    budget = CallBudget(40, 2.0, fan_out_share=0.5, clock=vt.clock, sleep=vt.sleep)
    fan_out: list[float] = []
    waits: list[float] = []

    async def history_trickle() -> None:  # 8 calls a window, a fifth of the budget
        for _ in range(40):
            asked = vt.now
            await budget.acquire("main")
            waits.append(vt.now - asked)
            await vt.sleep(0.01)
            budget.release("main")
            await vt.sleep(0.24)

    async def both() -> None:
        await asyncio.gather(lane_backlog(vt, budget, 400, 8, "fan-out", fan_out), history_trickle())

    vt.run(both())
    assert max(waits) == 0.0, f"a history call waited {max(waits):.2f} s behind per-parent calls"
    assert max_in_any_window(fan_out, 2.0) <= 20


def test_a_history_backlog_gets_the_budget_the_fan_out_lane_leaves() -> None:
    vt = VirtualTime()
    budget = CallBudget(40, 2.0, fan_out_share=0.5, clock=vt.clock, sleep=vt.sleep)
    main: list[float] = []
    fan_out: list[float] = []

    async def both() -> None:
        await asyncio.gather(
            lane_backlog(vt, budget, 400, 8, "fan-out", fan_out),
            lane_backlog(vt, budget, 120, 4, "main", main),
        )

    vt.run(both())
    assert max(main) <= 120 / 20 * 2.0, f"120 history calls took {max(main):.2f} s with half the budget"
    assert max_in_any_window(main + fan_out, 2.0) <= 40


def test_a_stop_ends_a_budget_wait_at_once() -> None:
    vt = VirtualTime()
    budget = CallBudget(2, 60.0, clock=vt.clock, sleep=vt.sleep)

    async def waits_then_stops() -> None:
        for _ in range(2):
            await budget.acquire()
            budget.release()
        waiting = asyncio.ensure_future(budget.acquire())
        await asyncio.sleep(0)
        assert not waiting.done(), "the third call should wait for the window"
        budget.stop()
        with pytest.raises(BudgetClosed):
            await waiting
        with pytest.raises(BudgetClosed):
            await budget.acquire("fan-out")
        with pytest.raises(BudgetClosed):
            await budget.unless_stopping(vt.sleep(30))  # a retry's backoff

    vt.run(waits_then_stops())
    assert vt.now == 0.0, "the stop waited for the window to age out"


def test_a_stop_lets_calls_that_fit_and_calls_in_flight_finish() -> None:
    budget = CallBudget(10, 60.0)

    async def read_in_flight_then_stop() -> None:
        answer = asyncio.get_running_loop().create_future()
        reading = asyncio.ensure_future(budget.interruptible(answer))
        await asyncio.sleep(0)
        budget.stop()
        await budget.acquire()  # fits: granted, a stop only refuses waiting
        budget.release()
        answer.set_result("rows")
        assert await reading == "rows", "a stop abandoned a read in flight (its window would be lost)"

    asyncio.run(read_in_flight_then_stop())


def test_closing_abandons_a_call_in_flight() -> None:
    budget = CallBudget(10, 60.0)

    async def long_read_then_close() -> None:
        never = asyncio.get_running_loop().create_future()  # a read whose answer never comes
        reading = asyncio.ensure_future(budget.interruptible(never))
        await asyncio.sleep(0)
        budget.close()
        with pytest.raises(BudgetClosed):
            await reading
        assert never.cancelled(), "the read in flight was left running"

    asyncio.run(long_read_then_close())


def test_a_stop_ends_a_wait_in_progress_and_a_cancelled_caller_stays_cancelled() -> None:
    budget = CallBudget(10, 60.0)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        backoff = loop.create_future()  # a retry's backoff in progress
        waiting = asyncio.ensure_future(budget.unless_stopping(backoff))
        answer = loop.create_future()  # a read in flight, whose caller is cancelled (not the budget)
        reading = asyncio.ensure_future(budget.interruptible(answer))
        await asyncio.sleep(0)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        assert answer.cancelled(), "the caller's read was left running"
        budget.stop()
        with pytest.raises(BudgetClosed):
            await waiting
        assert backoff.cancelled()
        assert not budget._waits and not budget._in_flight, "nothing is held once it ended"

    asyncio.run(scenario())


def test_a_nonsense_fan_out_share_is_refused() -> None:
    with pytest.raises(ValueError, match="fan-out share"):
        CallBudget(10, 60, fan_out_share=0)
