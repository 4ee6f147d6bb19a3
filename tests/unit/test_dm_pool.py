"""The data-modeling sink's apply pool: calls filled across writes, acknowledged per write, in order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from plex_cdf.cdf.dm.pool import ApplyPool
from plex_cdf.cdf.plan import Planned
from plex_cdf.cdf.transport import Json, OutcomeUnknown, Rejected
from plex_cdf.items import Asset
from plex_cdf.ports import WriteReport


def planned(resource: str, n: int, version: str = "a") -> Planned[Any]:
    xid = f"PCN1_part_{n}"
    body = {"instanceType": "node", "space": "plex_1", "externalId": xid, "version": version}
    return Planned(resource, xid, f"{version}{n}", Asset(xid, xid, None, "master"), body=body)


class FakeCdf:
    """Records each apply call; refuses calls holding a body marked `bad`; may hold calls until released."""

    def __init__(self, hold: bool = False) -> None:
        self.calls: list[list[Json]] = []
        self.open = 0
        self.most_open = 0
        self.release = asyncio.Event()
        if not hold:
            self.release.set()
        self.landed: dict[str, list[str]] = {}
        self.refused: list[tuple[str, WriteReport]] = []
        self.fail_with: Exception | None = None

    async def send(self, bodies: list[Json], report: WriteReport) -> None:
        self.calls.append(bodies)
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            await self.release.wait()
            if self.fail_with is not None:
                raise self.fail_with
            if any(body.get("bad") for body in bodies):
                raise Rejected("a value the container refuses")
        finally:
            self.open -= 1

    def landed_cb(self, entries: list[Planned[Any]], report: WriteReport) -> None:
        for entry in entries:
            self.landed.setdefault(entry.resource, []).append(entry.key)
        report.written += len(entries)

    def refused_cb(self, entry: Planned[Any], err: Exception, report: WriteReport) -> None:
        self.refused.append((entry.key, report))
        report.refused += 1

    def pool(self, size: int = 1000) -> ApplyPool:
        return ApplyPool(self.send, self.landed_cb, self.refused_cb, size=size)


def test_writes_of_two_resources_share_apply_calls_and_each_returns_with_its_own_acknowledged() -> None:
    async def scenario() -> tuple[FakeCdf, WriteReport, WriteReport]:
        cdf = FakeCdf()
        pool = cdf.pool()
        parts, ops = WriteReport(), WriteReport()
        await asyncio.gather(
            pool.apply([planned("parts", n) for n in range(600)], parts),
            pool.apply([planned("operations", n) for n in range(600, 1200)], ops),
        )
        return cdf, parts, ops

    cdf, parts, ops = asyncio.run(scenario())

    assert [len(call) for call in cdf.calls] == [1000, 200], "one full call, then the rest together"
    assert (parts.written, ops.written) == (600, 600)
    assert len(cdf.landed["parts"]) == 600 and len(cdf.landed["operations"]) == 600


def test_full_calls_go_at_once_and_in_parallel() -> None:
    async def scenario() -> FakeCdf:
        cdf = FakeCdf(hold=True)
        pool = cdf.pool(size=100)
        write = asyncio.ensure_future(pool.apply([planned("parts", n) for n in range(400)], WriteReport()))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert cdf.open == 4, "the four full calls are in flight together"
        cdf.release.set()
        await asyncio.wait_for(write, 10)
        return cdf

    cdf = asyncio.run(scenario())

    assert [len(call) for call in cdf.calls] == [100] * 4


def test_a_refused_instance_is_reported_to_its_own_write_and_the_rest_of_the_shared_call_lands() -> None:
    async def scenario() -> tuple[FakeCdf, WriteReport, WriteReport]:
        cdf = FakeCdf()
        pool = cdf.pool()
        bad = planned("parts", 7)
        bad.body["bad"] = True
        parts, ops = WriteReport(), WriteReport()
        await asyncio.gather(
            pool.apply([planned("parts", n) for n in range(7)] + [bad], parts),
            pool.apply([planned("operations", n) for n in range(100, 110)], ops),
        )
        return cdf, parts, ops

    cdf, parts, ops = asyncio.run(scenario())

    assert [(key, report is parts) for key, report in cdf.refused] == [("PCN1_part_7", True)]
    assert (parts.written, parts.refused, ops.written, ops.refused) == (7, 1, 10, 0)
    assert "PCN1_part_7" not in cdf.landed["parts"], "a refused instance is never committed"


def test_a_second_version_of_an_instance_waits_for_the_call_holding_the_first() -> None:
    async def scenario() -> FakeCdf:
        cdf = FakeCdf(hold=True)
        pool = cdf.pool(size=2)
        first = asyncio.ensure_future(
            pool.apply([planned("a", 1, "v1"), planned("a", 2, "v1")], WriteReport())
        )
        await asyncio.sleep(0)  # the first call is on its way (held by the fake CDF)
        second = asyncio.ensure_future(
            pool.apply([planned("b", 1, "v2"), planned("b", 3, "v2")], WriteReport())
        )
        for _ in range(20):  # the loop ran 20 turns: whatever could go has gone
            await asyncio.sleep(0)
        assert ("PCN1_part_1", "v2") not in sent(cdf), "v2 of part 1 must not overtake v1 of part 1"
        assert ("PCN1_part_3", "v2") in sent(cdf), "what does not wait for the first call goes on"
        cdf.release.set()
        await asyncio.gather(first, second)
        return cdf

    cdf = asyncio.run(scenario())

    assert sent(cdf)[-1] == ("PCN1_part_1", "v2"), "sent once the call with v1 was answered"


def sent(cdf: FakeCdf) -> list[tuple[str, str]]:
    return [(body["externalId"], body["version"]) for call in cdf.calls for body in call]


def test_one_write_never_sends_two_versions_of_an_instance_in_one_call() -> None:
    async def scenario() -> FakeCdf:
        cdf = FakeCdf()
        pool = cdf.pool()
        await asyncio.gather(
            pool.apply([planned("a", 1, "v1")], WriteReport()),
            pool.apply([planned("b", 1, "v2")], WriteReport()),
        )
        return cdf

    cdf = asyncio.run(scenario())

    assert [[b["version"] for b in call] for call in cdf.calls] == [["v1"], ["v2"]]


def test_a_call_that_fails_fails_every_write_in_it_and_commits_nothing() -> None:
    async def scenario() -> FakeCdf:
        cdf = FakeCdf()
        cdf.fail_with = OutcomeUnknown("CDF answered 503")
        pool = cdf.pool()
        results = await asyncio.gather(
            pool.apply([planned("parts", 1)], WriteReport()),
            pool.apply([planned("operations", 2)], WriteReport()),
            return_exceptions=True,
        )
        assert all(isinstance(r, OutcomeUnknown) for r in results), results
        return cdf

    cdf = asyncio.run(scenario())

    assert len(cdf.calls) == 1 and cdf.landed == {}


def test_nothing_to_apply_makes_no_call() -> None:
    cdf = FakeCdf()

    asyncio.run(cdf.pool().apply([], WriteReport()))

    assert cdf.calls == []


@pytest.mark.parametrize("size", [1, 3])
def test_every_entry_is_answered_whatever_the_call_size(size: int) -> None:
    async def scenario() -> WriteReport:
        cdf = FakeCdf()
        report = WriteReport()
        await cdf.pool(size=size).apply([planned("parts", n) for n in range(10)], report)
        return report

    assert asyncio.run(scenario()).written == 10


def test_part_filled_calls_gather_while_one_is_in_flight() -> None:
    async def scenario() -> FakeCdf:
        cdf = FakeCdf(hold=True)
        pool = cdf.pool()
        first = asyncio.ensure_future(pool.apply([planned("a", 1)], WriteReport()))
        await asyncio.sleep(0)
        await asyncio.sleep(0)  # the first part-filled call is in flight (held)
        later = [asyncio.ensure_future(pool.apply([planned("b", n)], WriteReport())) for n in (2, 3, 4)]
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(cdf.calls) == 1, "one part-filled call in flight at a time"
        cdf.release.set()
        await asyncio.gather(first, *later)
        return cdf

    cdf = asyncio.run(scenario())

    assert [len(call) for call in cdf.calls] == [1, 3], "the three later writes share the next call"


def test_a_write_abandoned_with_its_event_loop_does_not_hold_the_next_loops_writes() -> None:
    cdf = FakeCdf(hold=True)
    pool = cdf.pool()

    left: list[asyncio.Future[None]] = []

    async def abandoned() -> None:
        left.append(asyncio.ensure_future(pool.apply([planned("parts", 1)], WriteReport())))
        await asyncio.sleep(0)  # its part-filled call is due; the loop ends before CDF answers

    asyncio.run(abandoned())
    cdf.release.set()
    report = WriteReport()
    asyncio.run(asyncio.wait_for(pool.apply([planned("parts", n) for n in range(3)], report), 10))

    assert report.written == 3
