"""What the runner keeps of a looked-up list, and how often it reads it again.

A row linking parts, workcenters or locations by their readable codes looks their lists up; it keeps only
the fields it declared (`Resource.lookup_fields`), not the records Plex sent (the large plant's parts are
24 MB of dicts), and reads the list again at the list's own cadence (master data's interval), not at each
pass of every domain that links to it. A record naming an id the kept list lacks has the list read once
more in that pass, so a part newer than the list still gets its link at once."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from plex_cdf.config.models import DEFAULT_INTERVALS
from plex_cdf.domains.common import LINK_FIELDS, readable_id
from plex_cdf.domains.quality import KEY_MAPS, PART_KEY_MAP
from plex_cdf.domains.registry import ALL, BY_DOMAIN, check_rows
from plex_cdf.domains.resource import (
    Context,
    Get,
    PerParent,
    Quarantine,
    Record,
    Resource,
    Snapshot,
    TimeRange,
    Window,
)
from plex_cdf.ids import external_id, part_number_revision
from plex_cdf.items import Event, Item
from plex_cdf.runner import (
    KeptLookups,
    Runner,
    projected_fields,
    projection,
    unique_records,
)
from plex_cdf.sim.plex import connect as sim_connect
from plex_cdf.sim.plex.plant import build_plant
from plex_cdf.sim.plex.scales import scale_named
from tests.memory import MemoryState
from tests.unit.test_runner import PCN, FakePlex, MemorySink
from tests.unit.test_runner_memory import shared_runners

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
FIVE_MINUTES = timedelta(minutes=5)


def part_record(n: int) -> dict[str, Any]:
    """A part as Plex lists it: the three fields a link reads and many it does not."""
    extra = {f"field{i}": f"value {i} of part {n} " * 4 for i in range(25)}
    return {"id": f"00000000-0000-0000-0000-{n:012d}", "number": f"P-{n:05d}", "revision": "A", **extra}


def part_id(n: int) -> str:
    return str(part_record(n)["id"])


def job_of(record: Record, ctx: Context) -> Iterable[Item]:
    """A job event linked to its part by the part's readable id (as the jobs domain links it)."""
    yield Event(
        external_id(ctx.pcn, "job", record["jobNumber"]),
        "jobs",
        "job",
        asset_external_ids=(readable_id(ctx, "part", record["partId"]),),
    )


def no_items(record: Record, ctx: Context) -> Iterable[Item]:
    return ()


PARTS = Resource("parts", "master_data", Get("/parts"), Snapshot(), ("id",), no_items)
JOBS = Resource(
    "jobs",
    "jobs",
    Get("/jobs"),
    Snapshot(),
    ("jobNumber",),
    job_of,
    lookup=("parts",),
    lookup_fields=LINK_FIELDS,
)
INTERVALS = {"master_data": timedelta(hours=24), "jobs": FIVE_MINUTES}


def service_runners(
    resources: Sequence[Resource], plex: Any, clock: list[datetime], domains: Iterable[str]
) -> tuple[dict[str, Runner], KeptLookups, MemorySink]:
    """One runner per domain as the service has them: no shared fetch cache, one store of kept lookups,
    each list read again at its own domain's interval."""
    state, kept = MemoryState(), KeptLookups()
    sink = MemorySink(state)
    runners = {
        domain: Runner(
            pcn=PCN,
            source=plex,
            sink=sink,
            state=state,
            resources=resources,
            clock=lambda: clock[0],
            kept=kept,
            intervals={**DEFAULT_INTERVALS, **INTERVALS},
        )
        for domain in domains
    }
    return runners, kept, sink


def one_pass(runner: Runner, names: Sequence[str]) -> list[Any]:
    runner.new_pass()
    return asyncio.run(runner.run(names))


def deep_size(value: object) -> int:
    """Bytes of a list of dicts of strings, counted object by object (the strings too)."""
    if isinstance(value, list):
        return sys.getsizeof(value) + sum(deep_size(v) for v in value)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(deep_size(k) + deep_size(v) for k, v in value.items())
    return sys.getsizeof(value)


# --- (a) what is kept: the fields the transforms read -------------------------------------------------


def test_a_looked_up_list_is_kept_as_the_declared_fields_not_as_the_records_plex_sent() -> None:
    plex = FakePlex()
    plex.lists["/parts"] = [part_record(n) for n in range(200)]
    plex.lists["/jobs"] = [{"jobNumber": "J1", "partId": part_id(7)}]
    clock = [NOW]
    runners, kept, sink = service_runners([PARTS, JOBS], plex, clock, ["master_data", "jobs"])
    seen: list[Sequence[Record]] = []

    def watching(record: Record, ctx: Context) -> Iterable[Item]:
        seen.append(ctx.lookups["parts"])
        return job_of(record, ctx)

    runners["jobs"].resources["jobs"] = Resource(**{**JOBS.__dict__, "transform": watching})
    one_pass(runners["master_data"], ["parts"])
    [report] = one_pass(runners["jobs"], ["jobs"])

    assert report.status == "ok" and report.quarantined == 0
    event = sink.store[external_id(PCN, "job", "J1")]
    assert isinstance(event, Event)
    assert event.asset_external_ids == (external_id(PCN, "part", part_number_revision("P-00007", "A")),)
    parts = kept.get("parts")
    assert parts is not None
    assert all(set(record) == {"id", "number", "revision"} for record in parts.records), (
        "only the fields a link reads are kept of each part"
    )
    assert seen and seen[0] is parts.records, "the transform reads the kept projection, no copy of the list"
    whole = deep_size(plex.lists["/parts"])
    assert deep_size(parts.records) < whole / 8, (
        f"what the runner keeps of the parts list ({deep_size(parts.records):,} bytes) is not a fraction of"
        f" the records Plex sent ({whole:,} bytes)"
    )


def test_a_run_lets_a_looked_up_list_go_once_its_own_row_and_parents_are_done() -> None:
    """In `run --once` the BOM pass (hours under the real budget) holds the parts' projection, never the
    parts list: once the parts row and the BOM row's parent pick are done, the list is let go."""
    boms = Resource(
        "boms",
        "master_data",
        Get("/boms"),
        PerParent("parts", "id", param="partId"),
        ("id",),
        job_of,
        lookup=("parts",),
        lookup_fields=LINK_FIELDS,
    )
    runners, plex, cache = shared_runners([PARTS, boms, JOBS], {"master_data": [], "jobs": []}, KeptLookups())
    plex.lists["/parts"] = [part_record(n) for n in range(30)]
    plex.lists["/jobs"] = [{"jobNumber": "J1", "partId": part_id(3)}]
    held_at_bom_calls: list[bool] = []
    lookup_fields_at_bom_calls: list[set[str]] = []
    answer = plex.get_list

    async def get_list(path: str, params: Any = None) -> list[dict[str, Any]]:
        if path == "/boms":
            held_at_bom_calls.append(("parts", None) in cache)
            return [{"id": f"line-{(params or {}).get('partId')}", "jobNumber": "x", "partId": part_id(1)}]
        return await answer(path, params)

    plex.get_list = get_list  # type: ignore[method-assign]
    original = boms.transform

    def watching(record: Record, ctx: Context) -> Iterable[Item]:
        lookup_fields_at_bom_calls.extend(set(r) for r in ctx.lookups["parts"])
        return original(record, ctx)

    runners["master_data"].resources["boms"] = Resource(**{**boms.__dict__, "transform": watching})

    async def run_once() -> None:
        await runners["master_data"].run(["parts"])
        await runners["jobs"].run(["jobs"])
        await runners["master_data"].run(["boms"])

    asyncio.run(run_once())
    assert plex.calls["/parts"] == 1, "one read of the parts list for the whole run"
    assert len(held_at_bom_calls) == 30 and not any(held_at_bom_calls), (
        "the parts list was let go before the BOM calls; the BOM row reads the projection"
    )
    assert lookup_fields_at_bom_calls and all(
        f == {"id", "number", "revision"} for f in lookup_fields_at_bom_calls
    )


# --- (b) how often: at the list's own cadence ----------------------------------------------------------


def test_a_pass_cycle_reads_no_lookup_list_before_its_own_interval_has_passed() -> None:
    plex = FakePlex()
    plex.lists["/parts"] = [part_record(n) for n in range(5)]
    plex.lists["/jobs"] = [{"jobNumber": "J1", "partId": part_id(1)}]
    clock = [NOW]
    runners, _, _ = service_runners([PARTS, JOBS], plex, clock, ["master_data", "jobs"])
    one_pass(runners["master_data"], ["parts"])
    for _ in range(12):  # an hour of 5-minute jobs passes
        one_pass(runners["jobs"], ["jobs"])
        clock[0] += FIVE_MINUTES
    assert plex.calls["/parts"] == 1, "the parts list is read at master data's cadence, not per jobs pass"
    assert plex.calls["/jobs"] == 12
    clock[0] = NOW + timedelta(hours=24)
    one_pass(runners["jobs"], ["jobs"])
    assert plex.calls["/parts"] == 2, "once master data's interval has passed, a reader reads it again"


def test_a_part_newer_than_the_kept_list_has_it_read_again_once_and_gets_its_link() -> None:
    plex = FakePlex()
    plex.lists["/parts"] = [part_record(1)]
    plex.lists["/jobs"] = [{"jobNumber": "J1", "partId": part_id(1)}]
    clock = [NOW]
    runners, _, sink = service_runners([PARTS, JOBS], plex, clock, ["master_data", "jobs"])
    one_pass(runners["master_data"], ["parts"])
    one_pass(runners["jobs"], ["jobs"])
    clock[0] += FIVE_MINUTES
    plex.lists["/parts"].append(part_record(2))  # a new part, between master data's reads
    plex.lists["/jobs"] += [
        {"jobNumber": "J2", "partId": part_id(2)},
        {"jobNumber": "J3", "partId": part_id(2)},
    ]
    [report] = one_pass(runners["jobs"], ["jobs"])
    assert report.quarantined == 0, "the job of the new part waits for nothing"
    assert plex.calls["/parts"] == 2, "the parts list read once more for the new part (not per record)"
    event = sink.store[external_id(PCN, "job", "J2")]
    assert isinstance(event, Event)
    assert event.asset_external_ids == (external_id(PCN, "part", part_number_revision("P-00002", "A")),)
    clock[0] += FIVE_MINUTES
    one_pass(runners["jobs"], ["jobs"])
    assert plex.calls["/parts"] == 2, "the list read for it serves the next passes"


def test_an_id_plex_never_lists_is_quarantined_with_at_most_one_read_a_pass() -> None:
    """As before kept lists: a record naming a part the list lacks waits (quarantined, read again next
    pass); the list is read again at most once a pass, however many records name unknown parts."""
    plex = FakePlex()
    plex.lists["/parts"] = [part_record(1)]
    plex.lists["/jobs"] = [{"jobNumber": f"J{n}", "partId": part_id(900 + n)} for n in range(3)]
    clock = [NOW]
    runners, _, _ = service_runners([PARTS, JOBS], plex, clock, ["master_data", "jobs"])
    one_pass(runners["master_data"], ["parts"])
    [report] = one_pass(runners["jobs"], ["jobs"])
    assert report.quarantined == 3 and report.pending == 3
    assert plex.calls["/parts"] == 2, "one read for the pass, not one per record"


def test_rows_keep_only_fields_of_snapshot_lists_they_look_up() -> None:
    assert check_rows() == []
    windowed = Resource("entries", "production", Get("/e"), Window("b", "e"), ("id",), no_items)
    wrong = Resource(
        "x",
        "jobs",
        Get("/x"),
        Snapshot(),
        ("id",),
        no_items,
        lookup=("entries",),
        lookup_fields={"entries": ("id",)},
    )
    assert check_rows((windowed, wrong)) == ["x: lookup_fields of 'entries', which is not a snapshot list"]


# --- on the simulated plant: the real rows, Plex calls counted per path ---------------------------------


class SimulatedPlex:
    """A small seeded plant from the simulator, answering the Connect GETs in process, counted per route."""

    def __init__(self, clock: list[datetime]) -> None:
        self.clock = clock
        self.plant = build_plant(7, scale_named("small"), self.now_ms(), PCN, None)
        self.calls: Counter[str] = Counter()

    def now_ms(self) -> int:
        return int(self.clock[0].timestamp() * 1000)

    async def get_list(self, path: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        pairs = [
            (name, str(v))
            for name, value in (params or {}).items()
            for v in (value if isinstance(value, list | tuple) else [value])
        ]
        template, answer = sim_connect.answer(
            self.plant, self.now_ms(), path, sim_connect.lower_params(pairs)
        )
        self.calls[template] += 1
        return answer if isinstance(answer, list) else [answer]

    async def get_object(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        rows = await self.get_list(path, params)
        return rows[0] if rows else None

    async def post_list(self, path: str, body: Mapping[str, object]) -> list[dict[str, Any]]:
        raise AssertionError(f"no POST expected here: {path}")

    async def execute_datasource(self, source_id: int, inputs: Mapping[str, object]) -> list[dict[str, Any]]:
        raise AssertionError(f"no data source expected here: {source_id}")

    async def execute_datasource_window(self, *args: Any, **named: Any) -> list[dict[str, Any]]:
        raise AssertionError("no data source expected here")


def test_on_the_simulated_plant_a_steady_jobs_pass_makes_no_master_list_call() -> None:
    clock = [NOW]
    plex = SimulatedPlex(clock)
    resources = [*BY_DOMAIN["master_data"], *BY_DOMAIN["jobs"]]
    runners, _, sink = service_runners(resources, plex, clock, ["master_data", "jobs"])
    master = [r.name for r in BY_DOMAIN["master_data"]]
    jobs = [r.name for r in BY_DOMAIN["jobs"]]
    assert all(r.status == "ok" for r in one_pass(runners["master_data"], master))
    cold = one_pass(runners["jobs"], jobs)
    assert all(r.status == "ok" for r in cold) and sum(r.quarantined for r in cold) == 0
    linked = [
        e for e in sink.store.values() if isinstance(e, Event) and e.type == "job" and e.asset_external_ids
    ]
    assert linked, "the jobs are linked to their parts and workcenters"
    lists = ("/mdm/v1/parts", "/production/v1/production-definitions/workcenters")
    read = {path: plex.calls[path] for path in lists}
    assert read == dict.fromkeys(lists, 1), "master data read each list once; the jobs pass read none"
    before = Counter(plex.calls)
    for _ in range(3):
        clock[0] += FIVE_MINUTES
        warm = one_pass(runners["jobs"], jobs)
        assert all(r.status == "ok" for r in warm)
    made = Counter(plex.calls)
    made.subtract(before)
    assert {path: made[path] for path in lists} == dict.fromkeys(lists, 0), (
        f"a steady jobs pass read a master list: {+made}"
    )
    assert set(+made) <= {"/scheduling/v1/jobs", "/scheduling/v1/jobs/{id}/operations"}, +made


def test_every_window_of_a_windowed_row_reads_the_kept_projection_without_a_call() -> None:
    entries = Resource(
        "entries",
        "jobs",
        Get("/entries"),
        Window("beginDate", "endDate", max_span=timedelta(hours=6), lookback=timedelta(0)),
        ("jobNumber",),
        job_of,
        lookup=("parts",),
        lookup_fields=LINK_FIELDS,
    )
    plex = FakePlex()
    plex.lists["/parts"] = [part_record(1)]
    stamp = (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    plex.lists["/entries"] = [{"jobNumber": "J1", "partId": part_id(1), "stamp": stamp}]
    clock = [NOW]
    runners, _, sink = service_runners([PARTS, entries], plex, clock, ["master_data", "jobs"])
    one_pass(runners["master_data"], ["parts"])
    [report] = one_pass(runners["jobs"], ["entries"])
    assert report.windows == 28 and plex.calls["/entries"] == 28, "a first run's 7 days in 6-hour windows"
    assert plex.calls["/parts"] == 1, "every window's context read the kept projection"
    assert external_id(PCN, "job", "J1") in sink.store


class KeyMapPlex(FakePlex):
    """FakePlex with Plex's identity mapping: every id asked for gets a Classic key."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[list[str]] = []

    async def post_list(self, path: str, body: Mapping[str, object]) -> list[dict[str, Any]]:
        self.calls[path] += 1
        ids = [str(i) for i in body.get("ids", [])]  # type: ignore[attr-defined]
        self.asked.append(ids)
        return [{"id": plex_id, "key": n} for n, plex_id in enumerate(ids, start=1)]


def test_a_key_map_still_maps_a_part_new_since_master_datas_last_read() -> None:
    """The part key map asks Plex for the keys of every part id at each of its runs: it reads the parts
    list itself (not the kept projection), so a checksheet naming a new part's key gets its link."""
    [part_key_map] = [r for r in KEY_MAPS if r.name == PART_KEY_MAP]
    plex = KeyMapPlex()
    plex.lists["/parts"] = [part_record(1)]
    clock = [NOW]
    runners, _, _ = service_runners([PARTS, part_key_map], plex, clock, ["master_data", "quality"])
    one_pass(runners["master_data"], ["parts"])
    one_pass(runners["quality"], [PART_KEY_MAP])
    clock[0] += FIVE_MINUTES
    plex.lists["/parts"].append(part_record(2))
    one_pass(runners["quality"], [PART_KEY_MAP])
    assert plex.asked[-1] == sorted([part_id(1), part_id(2)]), "the new part's id is mapped at once"


def outcome(row: Resource, records: Sequence[Record], ctx: Context) -> list[object]:
    """What the row's transform (and finish) makes of the records: items, or the quarantine's message."""
    made: list[object] = []
    for record in records:
        try:
            made.append(list(row.transform(record, ctx)))
        except Quarantine as exc:
            made.append(str(exc))
    if row.finish is not None:
        try:
            made.append(list(row.finish(records, ctx)))
        except Quarantine as exc:
            made.append(str(exc))
    return made


def test_every_row_maps_the_simulated_plant_alike_from_the_kept_fields_and_from_whole_lists() -> None:
    """The declared fields are all a transform reads of a list: with whole records as lookups and with
    the kept fields, every Connect row makes the same items (and quarantines the same records)."""
    clock = [NOW]
    plex = SimulatedPlex(clock)
    rows = {r.name: r for r in ALL}
    fields = projected_fields(ALL)
    midnight = NOW.replace(hour=0)
    day = TimeRange(midnight - timedelta(days=1), midnight)

    def records(row: Resource) -> list[dict[str, Any]]:
        window = day if isinstance(row.mode, Window) else None
        return asyncio.run(row.source.fetch(plex, row.mode, _Window(window)))  # type: ignore[union-attr]

    checked = 0
    for row in ALL:
        projected = [n for n in row.lookup if n in row.lookup_fields]
        if not projected or not isinstance(row.source, Get) or isinstance(row.mode, PerParent):
            continue
        if not all(isinstance(rows[name].source, Get) for name in row.lookup):
            continue  # looks up a POST or data-source list (key maps): covered by their own tests
        # A kept-children lookup (which line lists which workcenter) is the state's: none here, alike.
        lists = {
            name: [] if isinstance(rows[name].mode, PerParent) else records(rows[name]) for name in row.lookup
        }
        whole = {name: unique_records(found, rows[name].key) for name, found in lists.items()}
        kept = {
            name: projection(found, rows[name].key, fields[name]) if name in projected else whole[name]
            for name, found in lists.items()
        }
        mine = records(row)
        window = day if isinstance(row.mode, Window) else None
        with_whole = Context(PCN, row.name, NOW, window=window, lookups=whole)
        with_kept = Context(PCN, row.name, NOW, window=window, lookups=kept)
        assert outcome(row, mine, with_kept) == outcome(row, mine, with_whole), row.name
        checked += 1
    assert checked >= 10, f"only {checked} rows compared"


class _Window:
    """What a source asks while making its call (`resource.Contextual`): the window only."""

    def __init__(self, window: TimeRange | None) -> None:
        self.window = window

    async def full(self) -> Context:
        raise AssertionError("a GET needs no context")
