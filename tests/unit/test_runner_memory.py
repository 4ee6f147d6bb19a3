"""What bounds a run's memory: a snapshot written a slice at a time, and shared lists let go once no row
is left to read them (the large plant's cold `run --once`, bench/plex_cold_start.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from plex_cdf.domains.resource import Context, Get, PerParent, Record, Resource, Snapshot
from plex_cdf.ids import external_id
from plex_cdf.items import Asset, Datapoints, Item, TimeSeries, identity, item_id
from plex_cdf.ports import WriteReport
from plex_cdf.runner import FetchCache, KeptLookups, Runner, readers_of
from tests.memory import MemoryState
from tests.unit.test_runner import (
    GROUPED,
    GROUPS,
    MEMBERS,
    NOW,
    PCN,
    THINGS,
    FakePlex,
    MemorySink,
    make_runner,
    run,
)


class RecordingSink(MemorySink):
    """The memory sink, remembering each write call's items."""

    def __init__(self, state: MemoryState) -> None:
        super().__init__(state)
        self.batches: list[list[Item]] = []

    async def write(self, resource: str, items: Sequence[Item]) -> WriteReport:
        self.batches.append(list(items))
        return await super().write(resource, items)


def gauge_of(record: Record, ctx: Context) -> Iterable[Item]:
    """An asset, its series and the series' latest point per record: three kinds in dependency order."""
    asset = external_id(ctx.pcn, "gauge", record["id"])
    yield Datapoints(f"{asset}_level", ((1, float(record["level"])),), latest_only=True)
    yield TimeSeries(f"{asset}_level", "level", "inventory", asset_external_id=asset)
    yield Asset(asset, f"gauge {record['id']}", None, "inventory", metadata={"note": "x" * 50})


GAUGES = Resource("gauges", "inventory", Get("/gauges"), Snapshot(vanished_value=0.0), ("id",), gauge_of)


def test_a_large_snapshot_is_written_in_slices_each_in_dependency_order() -> None:
    runner, plex, _, state = make_runner([GAUGES])
    sink = runner.sink = RecordingSink(state)
    runner.flush_items = 300
    plex.lists["/gauges"] = [{"id": i, "level": i} for i in range(1000)]
    [report] = run(runner, ["gauges"])
    assert report.status == "ok" and report.write.written == 3000
    assert len(sink.batches) > 1 and all(len(b) <= runner.flush_items for b in sink.batches)
    written = [identity(i) for batch in sink.batches for i in batch]
    assert len(written) == len(set(written)) == 3000, "every item written once"
    rank = {Asset: 0, TimeSeries: 1, Datapoints: 2}
    seen: set[str] = set()
    for batch in sink.batches:
        ranks = [rank[type(i)] for i in batch]
        assert ranks == sorted(ranks), "within a write: assets, then series, then points"
        for item in batch:  # a series' points never go before the series, nor a series before its asset
            if isinstance(item, Datapoints | TimeSeries):
                parent = item.external_id if isinstance(item, Datapoints) else item.asset_external_id
                assert parent in seen or parent in {
                    x.external_id for x in batch if not isinstance(x, Datapoints)
                }
        seen.update(item_id(i) for i in batch if not isinstance(i, Datapoints))


def test_a_sliced_snapshot_still_retires_what_vanished_and_nothing_else() -> None:
    runner, plex, sink, _ = make_runner([GAUGES])
    runner.flush_items = 300
    plex.lists["/gauges"] = [{"id": i, "level": i} for i in range(1000)]
    run(runner, ["gauges"])
    plex.lists["/gauges"] = [{"id": i, "level": i} for i in range(1000) if i != 517]
    [report] = run(runner, ["gauges"])
    assert report.write.unchanged == 2997, "a second read of the same records writes nothing new"
    gone = sink.store[f"{external_id(PCN, 'gauge', 517)}_level"]
    assert isinstance(gone, Datapoints) and gone.points[-1][1] == 0.0, "the vanished gauge reads zero"
    kept = sink.store[f"{external_id(PCN, 'gauge', 516)}_level"]
    assert isinstance(kept, Datapoints) and kept.points[-1][1] == 516.0, "the others keep their value"


def test_a_snapshot_consumes_its_own_list_but_never_one_another_row_reads() -> None:
    """The parts list the BOM rows read must stay whole while the parts row writes it in slices."""
    boms = Resource(
        "boms", "master_data", Get("/boms"), PerParent("things", "id", param="partId"), ("line",), gauge_of
    )
    runner, plex, sink, _ = make_runner([THINGS, boms])
    runner.flush_items = 100
    plex.lists["/things"] = [{"id": i, "name": "x"} for i in range(2500)]
    plex.lists["/boms"] = []
    run(runner, ["things", "boms"])
    assert plex.calls["/boms"] == 2500, "every part's BOM asked for: the list was not consumed"
    assert len(sink.store) == 2500


def shared_runners(
    resources: Sequence[Resource], domains: dict[str, list[str]], kept: KeptLookups | None = None
) -> tuple[dict[str, Runner], FakePlex, FetchCache]:
    """Runners of one `run --once`: one per domain, sharing a fetch cache and its readers (and `kept`, a
    store of kept lookups, when given)."""
    plex, state, cache = FakePlex(), MemoryState(), FetchCache()
    readers = readers_of(r for r in resources if r.domain in domains)
    runners = {
        domain: Runner(
            pcn=PCN,
            source=plex,
            sink=MemorySink(state),
            state=state,
            resources=resources,
            clock=lambda: NOW,
            cache=cache,
            readers=readers,
            kept=kept,
        )
        for domain in domains
    }
    return runners, plex, cache


def test_a_shared_list_is_fetched_once_and_let_go_after_its_last_reader() -> None:
    lookup = Resource("specs", "quality", Get("/specs"), Snapshot(), ("id",), gauge_of, lookup=("things",))
    boms = Resource(
        "boms", "master_data", Get("/boms"), PerParent("things", "id", param="partId"), ("line",), gauge_of
    )
    resources = [THINGS, boms, lookup]
    runners, plex, cache = shared_runners(resources, {"master_data": [], "quality": []})
    plex.lists["/things"] = [{"id": i, "name": "x"} for i in range(5)]

    async def one_pass() -> None:
        await runners["master_data"].run(["things"])
        assert ("things", None) in cache, "two rows still to read the parts"
        await runners["quality"].run(["specs"])
        assert ("things", None) in cache, "the BOM row still to read the parts"
        await runners["master_data"].run(["boms"])
        assert ("things", None) not in cache, "no row left to read the parts: let go"

    asyncio.run(one_pass())
    assert plex.calls["/things"] == 1, "one fetch shared by the three rows"


def test_a_skipped_fallback_counts_as_done_reading() -> None:
    target = Resource("daily", "performance", Get("/daily"), Snapshot(), ("id",), gauge_of)
    fallback = Resource(
        "daily_from_lists",
        "performance",
        Get("/computed"),
        Snapshot(),
        ("id",),
        gauge_of,
        lookup=("things",),
        fallback_for="daily",
    )
    runners, plex, cache = shared_runners([THINGS, target, fallback], {"master_data": [], "performance": []})
    plex.lists["/things"] = [{"id": 1, "name": "x"}]

    async def one_pass() -> None:
        await runners["master_data"].run(["things"])
        assert ("things", None) in cache
        await runners["performance"].run(["daily", "daily_from_lists"])  # the target works: no fallback
        assert ("things", None) not in cache

    asyncio.run(one_pass())
    assert plex.calls["/computed"] == 0


def test_a_per_parent_row_lets_the_parent_list_go_before_its_first_child_call() -> None:
    """A long BOM pass (hours under Plex's budget) holds only the parts it has still to ask about."""
    boms = Resource(
        "boms", "master_data", Get("/boms"), PerParent("things", "id", param="partId"), ("line",), gauge_of
    )
    runners, plex, cache = shared_runners([THINGS, boms], {"master_data": []})
    plex.lists["/things"] = [{"id": i, "name": "x"} for i in range(30)]
    cached_at_child_calls: list[bool] = []
    answer = plex.get_list

    async def get_list(path: str, params: Any = None) -> list[dict[str, Any]]:
        if path == "/boms":
            cached_at_child_calls.append(("things", None) in cache)
            return [{"line": 1, "id": (params or {}).get("partId"), "level": 1}]
        return await answer(path, params)

    plex.get_list = get_list  # type: ignore[method-assign]

    async def one_pass() -> None:
        await runners["master_data"].run(["things", "boms"])

    asyncio.run(one_pass())
    assert len(cached_at_child_calls) == 30, "every part still asked for its BOM"
    assert not any(cached_at_child_calls), "the parts list was let go before the first BOM call"


def test_a_list_placed_again_in_the_pass_is_not_fetched_twice_and_is_let_go_after() -> None:
    """Workcenters placed again under their lines once the line members are known: the re-placement
    reads the list the pass already fetched, which goes once the pass is done placing."""
    runners, plex, cache = shared_runners([GROUPS, GROUPED, MEMBERS], {"master_data": []})
    runner = runners["master_data"]
    plex.lists["/groups"] = [{"id": "g1", "name": "line 1"}]
    plex.lists["/things"] = [{"id": 1, "name": "a"}]
    plex.lists["/groups/g1/members"] = [{"memberId": "1"}]

    async def one_pass() -> None:
        lists = ["groups", "things"]
        await runner.run(lists)
        await runner.run(["group_members"])
        await runner.run(runner.rows_to_place_again(lists))
        assert ("things", None) in cache, "kept for the re-placement until the pass is done placing"
        runner.done_placing(lists)
        assert ("things", None) not in cache, "no row left to read it: let go"

    asyncio.run(one_pass())
    assert plex.calls["/things"] == 1, "placed again from the list the pass fetched"
