"""Intervals, dependencies, run-once and shutdown.

Master data's lists run first (the other domains link to its assets): a first task signals `ready` once
its lists are written (its per-parent calls, BOMs, carry on in the budget's fan-out lane while the others
start), or at the latest when its pass ends. Then every domain runs on its own interval, concurrently,
within the tenant's shared Plex budget. A failing domain backs off exponentially (capped at
its interval) and never stops the others. A stop request lets the current window finish, then the loop
ends; state is committed after every acknowledged write, so stopping at any instant loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from plex_cdf.runner import ResourceReport

log = logging.getLogger("plex_cdf.scheduler")

MIN_BACKOFF = timedelta(seconds=5)


@dataclass
class DomainTask:
    """One domain of one tenant: what to run, how often, and whether the others wait for it."""

    name: str  # e.g. "340884/production"
    interval: timedelta
    run_pass: Callable[[], Awaitable[list[ResourceReport]]]
    first: bool = False  # master data: the others start only once it is ready
    # Set by the pass once what the others link to is written (else the scheduler sets it after the pass).
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    failures: int = field(default=0, init=False)

    def next_delay(self, failed: bool) -> float:
        """Seconds to wait before the next pass: the interval, or a backoff after a failure."""
        self.failures = self.failures + 1 if failed else 0
        if not failed:
            return self.interval.total_seconds()
        backoff: timedelta = MIN_BACKOFF * (2 ** (self.failures - 1))
        return float(min(backoff, self.interval).total_seconds())


def failed(reports: Sequence[ResourceReport]) -> bool:
    return any(r.status == "failed" for r in reports)


class Scheduler:
    def __init__(
        self,
        tasks: Sequence[DomainTask],
        *,
        once: bool,
        on_pass: Callable[[DomainTask, list[ResourceReport] | BaseException], Awaitable[None]] | None = None,
    ) -> None:
        self.tasks = list(tasks)
        self.once = once
        self.on_pass = on_pass
        self.stop = asyncio.Event()

    async def run(self) -> None:
        """Run until stopped (or one pass each with once=True). Raises what a pass raised as fatal."""
        try:
            async with asyncio.TaskGroup() as group:
                for task in self.tasks:
                    group.create_task(self._run_task(task))
        except ExceptionGroup as failures:
            raise failures.exceptions[0] from None

    async def _run_task(self, task: DomainTask) -> None:
        if not task.first:
            await self._firsts_ready()
            if self.stop.is_set():
                return
        if self.once:
            await self._pass(task)
        else:
            await self._loop(task)

    async def _firsts_ready(self) -> None:
        """Until every first task is ready, or a stop is requested."""
        waits = [asyncio.ensure_future(t.ready.wait()) for t in self.tasks if t.first]
        if not waits:
            return
        stopping = asyncio.ensure_future(self.stop.wait())
        try:
            ready = asyncio.gather(*waits)
            await asyncio.wait((ready, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in (*waits, stopping):
                wait.cancel()

    def request_stop(self) -> None:
        self.stop.set()

    async def _loop(self, task: DomainTask) -> None:
        delay = 0.0
        while not self.stop.is_set():
            if await self._wait(delay):
                return
            reports = await self._pass(task)
            delay = task.next_delay(reports is None or failed(reports))

    async def _wait(self, seconds: float) -> bool:
        """Sleep, waking early on a stop request; True when stopping."""
        if seconds <= 0:
            await asyncio.sleep(0)  # let the other domains take their turn
            return self.stop.is_set()
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def _pass(self, task: DomainTask) -> list[ResourceReport] | None:
        try:
            reports = await task.run_pass()
            task.ready.set()
        except Exception as exc:
            log.error("%s: pass failed: %s", task.name, exc)
            if self.on_pass is not None:
                await self.on_pass(task, exc)
            raise
        if self.on_pass is not None:
            await self.on_pass(task, reports)
        return reports
