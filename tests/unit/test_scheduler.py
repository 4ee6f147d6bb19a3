"""The scheduler: master data first, failing domains back off alone, stop ends the loop."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from plex_cdf.runner import ResourceReport
from plex_cdf.scheduler import DomainTask, Scheduler


def report(status: str = "ok") -> list[ResourceReport]:
    r = ResourceReport("x", "production")
    r.status = status  # type: ignore[assignment]
    return [r]


def test_run_once_runs_master_data_before_the_others() -> None:
    order: list[str] = []

    def task(name: str, first: bool = False) -> DomainTask:
        async def run_pass() -> list[ResourceReport]:
            order.append(f"{name}:start")
            await asyncio.sleep(0)
            order.append(f"{name}:end")
            return report()

        return DomainTask(name, timedelta(minutes=5), run_pass, first=first)

    scheduler = Scheduler([task("jobs"), task("master", first=True), task("production")], once=True)
    asyncio.run(scheduler.run())
    assert order[:2] == ["master:start", "master:end"], "master data must finish before others start"
    assert sorted(order[2:]) == ["jobs:end", "jobs:start", "production:end", "production:start"]


def test_a_failing_domain_backs_off_exponentially_capped_at_its_interval() -> None:
    task = DomainTask("q", timedelta(seconds=60), lambda: asyncio.sleep(0))  # type: ignore[arg-type,return-value]
    delays = [task.next_delay(True) for _ in range(6)]
    assert delays == [5, 10, 20, 40, 60, 60]
    assert task.next_delay(False) == 60 and task.failures == 0


def test_stop_ends_the_service_loop_and_other_domains_keep_running_after_failures() -> None:
    passes: dict[str, int] = {"good": 0, "bad": 0}

    async def main() -> None:
        scheduler: Scheduler

        async def good() -> list[ResourceReport]:
            passes["good"] += 1
            if passes["good"] == 3:
                scheduler.request_stop()
            return report()

        async def bad() -> list[ResourceReport]:
            passes["bad"] += 1
            return report("failed")

        scheduler = Scheduler(
            [DomainTask("good", timedelta(0), good), DomainTask("bad", timedelta(0), bad)], once=False
        )
        await asyncio.wait_for(scheduler.run(), timeout=30)

    asyncio.run(main())
    assert passes["good"] == 3
    assert passes["bad"] >= 1


def test_a_fatal_error_stops_everything_with_that_error() -> None:
    async def fatal() -> list[ResourceReport]:
        raise PermissionError("bad key")

    async def forever() -> list[ResourceReport]:
        await asyncio.sleep(3600)
        return report()

    scheduler = Scheduler(
        [DomainTask("a", timedelta(0), fatal), DomainTask("b", timedelta(0), forever)], once=False
    )
    with pytest.raises(PermissionError, match="bad key"):
        asyncio.run(asyncio.wait_for(scheduler.run(), timeout=30))


def test_the_others_start_once_master_data_is_ready_not_when_its_per_parent_calls_end() -> None:
    order: list[str] = []
    ready = asyncio.Event()
    boms_may_finish = asyncio.Event()

    async def master() -> list[ResourceReport]:
        order.append("master:lists")
        ready.set()
        await boms_may_finish.wait()  # BOMs per part, still running while the others start
        order.append("master:boms")
        return report()

    async def production() -> list[ResourceReport]:
        order.append("production")
        boms_may_finish.set()
        return report()

    tasks = [
        DomainTask("production", timedelta(minutes=5), production),
        DomainTask("master", timedelta(minutes=5), master, first=True, ready=ready),
    ]
    asyncio.run(asyncio.wait_for(Scheduler(tasks, once=True).run(), timeout=30))
    assert order == ["master:lists", "production", "master:boms"]
