"""Hypothesis material for the transform property test: real records of every resource row (fetched once
from the simulated Plex through the product's Plex client and runner), a Plex source that answers the row
under test with generated records and everything else with the real ones, and a sink that checks every
item it is given is one CDF would accept."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from hypothesis import strategies as st

from plex_cdf.cdf.limits import Alterations
from plex_cdf.cdf.payloads import asset_body, event_body, relationship_body, time_series_body
from plex_cdf.cdf.points import datapoints_body
from plex_cdf.domains.common import READABLE
from plex_cdf.domains.registry import ALL
from plex_cdf.domains.resource import DataSourceWindow, PerParent, Resource, TimeRange, Window
from plex_cdf.items import Asset, Datapoints, Event, Item, RawRow, Relationship, TimeSeries
from plex_cdf.plant import PlantTime, Shift
from plex_cdf.plex.client import PlexClient
from plex_cdf.plex.settings import PlexSettings
from plex_cdf.ports import Expiry, Point, WriteReport
from plex_cdf.runner import Runner
from plex_cdf.sim.cdf import limits as cdf_limits
from plex_cdf.sim.cdf.datapoints import _checked_points
from plex_cdf.sim.cdf.errors import CdfError
from plex_cdf.sim.plex import SimPlex
from plex_cdf.windows import plan
from tests.faults.world import NOW, PCN
from tests.memory import MemoryState

Record = Any  # a generated record may be anything JSON can carry, not only an object
# The day before the tenant's now: every windowed row is fetched (and tested) over this one window.
DAY = TimeRange(
    NOW.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1),
    NOW.replace(hour=0, minute=0, second=0, microsecond=0),
)
SAMPLES_PER_ROW = 30
ROWS: Mapping[str, Resource] = {r.name: r for r in ALL}


# A UTC plant with two shifts whose shift day is the UTC day, so per-shift rows have windows (and calls).
PLANT = PlantTime(ZoneInfo("UTC"), (Shift("Day", time(0), time(12)), Shift("Night", time(12), time(0))))


def first_window(row: Resource) -> TimeRange | None:
    mode = row.mode
    if not isinstance(mode, Window | DataSourceWindow):
        return None
    return next(iter(plan(DAY.begin, DAY.end, mode, PLANT)))


@dataclass
class Samples:
    """Real records per row name; children sub-lists per children path template."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def collect_samples() -> Samples:
    """Fetch every row's records from a served simulated Plex through the product's client."""
    sim = SimPlex(seed=1, scale="small", pcn=PCN, now=NOW, rate_limit_per_minute=100_000)
    with sim.serve() as server:
        return asyncio.run(_collect(server.base_url))


async def _collect(url: str) -> Samples:
    settings = PlexSettings(
        connect_url=url,
        datasource_url=url,
        api_key="sim-key",
        customer_id=PCN,
        ds_username="sim-user",
        ds_password="sim-password",
        calls_per_minute=100_000,
    )
    samples = Samples()
    async with PlexClient(settings) as plex:
        state = MemoryState()
        runner = Runner(
            pcn=PCN,
            source=plex,
            sink=CheckingSink(state),
            state=state,
            resources=ALL,
            clock=lambda: NOW,
            plant=PLANT,
        )
        for row in ALL:
            if isinstance(row.mode, PerParent):
                records = await _children_of_parents(plex, runner, row, row.mode)
            else:
                records = await runner.records_of(row.name, first_window(row))
            # The lists links read codes from stay whole: a sampled record's workcenter or part is in them.
            whole = row.name in {spec.list for spec in READABLE.values()}
            samples.records[row.name] = records if whole else records[:SAMPLES_PER_ROW]
            if row.children is not None and records:
                parent = records[0].get(row.children.parent_key)
                path = row.children.path.format(parent=parent)
                samples.children[row.children.path] = await plex.get_list(path)
    return samples


async def _children_of_parents(plex: PlexClient, runner: Runner, row: Resource, mode: PerParent) -> list[Any]:
    found: list[Any] = []
    for parent in (await runner.records_of(mode.parent))[:10]:
        value = str(parent.get(mode.parent_key))
        params = dict(row.params) | ({mode.param: value} if mode.param else {})
        path = row.path.format(parent=value)
        if mode.object:
            answer = await plex.get_object(path, params or None)
            found += [] if answer is None else [answer]
        else:
            found += await plex.get_list(path, params)
    return found


# --- nasty values ------------------------------------------------------------------------------------------

BAD_DATES = [
    "",
    " ",
    "not a date",
    "2026-13-45T25:61:61Z",
    "2026-02-30T10:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.9999999Z",
    "1899-12-31T23:59:59Z",
    "2100-01-01T00:00:00Z",
    "2026-11-19T10:00:00+14:00",
    "2026-11-19T10:00:00-12:00",
    "2026-11-19",
    "2026-11-19T10:00",
    "2026-11-19T10:00:00.123456789012Z",
    "19/11/2026 10:00",
    "1763546400000",
    "NaN",
    "null",
]
ODD_TEXT = [
    "",
    " ",
    "\t\n",
    "\x00",
    "\u200b",
    "\ufeff",
    "🏭" * 70,
    "é" * 300,
    "Ω≈ç√∫",
    "𝕻𝖑𝖊𝖝",
    "a|b|c",
    "PCN340884_workcenter_",
    "../../etc/passwd",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "%s%s%s",
    "${PLEX_API_KEY}",
    " padded ",
    "x" * 100_000,
    "\u0301\u0301\u0301",
    "\U0010ffff",
]
NUMBERS = [0, -1, 1, 2**31, -(2**31), 2**63 - 1, -(2**63), 0.5, -0.0, 1e308, -1e308, 5e-324, 1e100, 1e101]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(BAD_DATES),
    st.sampled_from(ODD_TEXT),
    st.sampled_from(NUMBERS),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def mutated_record(draw: st.DrawFn, base: Mapping[str, Any]) -> Record:
    """A real record with some fields replaced by nasty values, some removed, and maybe one added; now and
    then not an object at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.one_of(json_scalars, st.lists(json_scalars, max_size=3)))
    record = dict(base)
    names = sorted(record)
    if names:
        for name in draw(st.lists(st.sampled_from(names), max_size=4, unique=True)):
            if draw(st.booleans()):
                record[name] = draw(json_values)
            else:
                del record[name]
    if draw(st.integers(0, 4)) == 0:
        record[draw(st.sampled_from(["", " ", "extra", "Id", "𝕏", "id "]))] = draw(json_values)
    return record


def records_for(samples: Sequence[Mapping[str, Any]]) -> st.SearchStrategy[list[Record]]:
    """A Plex answer for the row: real records as they are, and mutated ones."""
    if not samples:
        base: st.SearchStrategy[Mapping[str, Any]] = st.just({})
    else:
        base = st.sampled_from(list(samples))
    one = st.one_of(base.map(dict), base.flatmap(mutated_record))
    return st.lists(one, min_size=0, max_size=6).map(json_round_trip)


def json_round_trip(records: list[Record]) -> list[Record]:
    """Exactly what the Plex client would hand over after parsing the body with orjson."""
    loaded: list[Record] = orjson.loads(orjson.dumps(records))
    return loaded


# --- the Plex source and the runner for one row under test -----------------------------------------------


class GeneratedPlex:
    """Answers the row under test with the generated records (its first call only: later windows, parents
    or bodies get an empty answer) and any children path with the real children."""

    def __init__(self, row: Resource, generated: list[Record], samples: Samples) -> None:
        self.row = row
        self.generated = generated
        self.samples = samples
        self.handed: list[Record] = []
        self._own = re.compile(re.escape(row.path).replace(re.escape("{parent}"), "[^/]+") + "$")
        self._done = False

    def _own_answer(self) -> list[Record]:
        if self._done:
            return []
        self._done = True
        self.handed = list(self.generated)
        return list(self.generated)

    def _is_own(self, path: str) -> bool:
        return self.row.api == "connect" and bool(self._own.match(path))

    async def get_list(self, path: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        if self._is_own(path):
            return self._own_answer()
        if self.row.children is not None:
            return [dict(r) for r in self.samples.children.get(self.row.children.path, [])]
        return []

    async def get_object(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        if not self._is_own(path):
            return None
        answer = [a for a in self._own_answer()[:1] if a is not None]  # JSON null: no such object
        self.handed = answer
        return answer[0] if answer else None

    async def post_list(self, path: str, body: Mapping[str, object]) -> list[Any]:
        return self._own_answer() if self._is_own(path) else []

    async def execute_datasource(self, source_id: int, inputs: Mapping[str, object]) -> list[Any]:
        return self._own_answer() if source_id == self.row.datasource_id else []

    async def execute_datasource_window(
        self, source_id: int, inputs: Mapping[str, object], begin: str, end: str, window: TimeRange
    ) -> list[Any]:
        return await self.execute_datasource(source_id, inputs)


class SampleRunner(Runner):
    """The product's runner, except that every other row (lookups, parents) reads the real records."""

    def __init__(self, samples: Samples, under_test: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.samples = samples
        self.under_test = under_test
        self._reading_lookups = False

    async def _context(
        self, resource: Resource, window: TimeRange | None, parent: Record | None = None
    ) -> Any:
        """Lookups read the whole real list, also where the same list gives the one parent (the parts
        list is both the BOM row's parents and its lookup for the parts' codes)."""
        self._reading_lookups = True
        try:
            return await super()._context(resource, window, parent)
        finally:
            self._reading_lookups = False

    async def records_of(self, name: str, window: TimeRange | None = None) -> list[dict[str, Any]]:
        if name == self.under_test:
            return await super().records_of(name, window)
        records = [dict(r) for r in self.samples.records.get(name, [])]
        row = ROWS[self.under_test]
        if isinstance(row.mode, PerParent) and name == row.mode.parent and not self._reading_lookups:
            return records[:1]  # one parent: the generated answer is its children
        return records


# --- state and a sink that checks what CDF would be sent -------------------------------------------------


def item_slot(item: Item) -> tuple[str, str]:
    return type(item).__name__, item.key if isinstance(item, RawRow) else item.external_id


class CheckingSink:
    """Keeps every item; raises (like CDF's 400) when an item's request body would be refused."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state
        self.store: dict[tuple[str, str], Item] = {}

    async def write(self, resource: str, items: Sequence[Item]) -> WriteReport:
        for index, item in enumerate(items):
            refusal = cdf_refusal(item, index)
            if refusal is not None:
                raise AssertionError(f"{resource}: CDF would refuse {item_slot(item)}: {refusal}")
            self.store[item_slot(item)] = item
        self.state.commit_hashes(PCN, resource, {item_slot(i)[1]: "x" for i in items})
        return WriteReport(written=len(items), write_calls=1 if items else 0)

    async def mark_inactive(self, resource: str, external_ids: Sequence[str]) -> WriteReport:
        return WriteReport(written=len(external_ids))

    async def retire_vanished(
        self,
        resource: str,
        kept: Sequence[Item],
        *,
        mark_inactive: bool,
        end_point: Point | None,
        expiry: Expiry | None = None,
    ) -> WriteReport:
        return WriteReport()

    async def delete(self, resource: str, external_ids: Sequence[str]) -> WriteReport:
        return WriteReport(deleted=len(external_ids))

    async def link_pending(self) -> WriteReport:
        return WriteReport()


def cdf_refusal(item: Item, index: int) -> str | None:
    """Why the local CDF would answer 400 to the body the writer makes of this item, or None."""
    alterations = Alterations()
    try:
        if isinstance(item, Asset):
            cdf_limits.check_item(cdf_limits.ASSETS, asset_body(item, 1, alterations), index)
        elif isinstance(item, Event):
            cdf_limits.check_item(cdf_limits.EVENTS, event_body(item, 1, [], alterations), index)
        elif isinstance(item, TimeSeries):
            cdf_limits.check_item(cdf_limits.TIME_SERIES, time_series_body(item, 1, None, alterations), index)
        elif isinstance(item, Relationship):
            cdf_limits.check_item(cdf_limits.RELATIONSHIPS, relationship_body(item, 1, alterations), index)
        elif isinstance(item, Datapoints):
            body = datapoints_body(item, alterations)
            points = body["datapoints"]
            if points:
                _checked_points(points, isinstance(points[0]["value"], str), index)
        else:
            if not 1 <= len(item.key) <= 1024:
                return f"RAW key of {len(item.key)} characters"
            orjson.dumps(dict(item.columns))
    except CdfError as err:
        return str(err)
    return None
