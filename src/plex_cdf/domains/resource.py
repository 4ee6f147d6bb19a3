"""A resource row: one Plex endpoint spelled out as data.

A row says where its records come from (`source`: a Connect GET, Connect POSTs that read, or a Data Source),
how often and over what (`mode`: a snapshot, date windows, one call per parent), how to recognise a record
(`key`) and what to make of it (`transform`, `finish`). A source makes its calls through the `PlexSource`
port the runner hands it; nothing here opens a connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import quote

from plex_cdf.items import Item
from plex_cdf.plant import UTC_PLANT, PlantTime
from plex_cdf.plex.dates import window_params
from plex_cdf.ports import PlexSource
from plex_cdf.windows import Record, TimeRange

__all__ = [
    "DOMAINS",
    "Children",
    "Context",
    "DataSource",
    "DataSourceWindow",
    "Domain",
    "Get",
    "Mode",
    "NotListedYet",
    "PerParent",
    "Post",
    "Quarantine",
    "Record",
    "Resource",
    "Snapshot",
    "Source",
    "TimeRange",
    "Window",
]

Domain = Literal["master_data", "jobs", "production", "inventory", "quality", "performance"]
DOMAINS: tuple[Domain, ...] = ("master_data", "jobs", "production", "inventory", "quality", "performance")


class Quarantine(ValueError):
    """Raised by a transform for a record it cannot map; the message names the field and the value."""


class NotListedYet(Quarantine):
    """The record names a Plex id its lookup list `list_name` does not hold (yet): a record newer than the
    list the runner kept. The runner may read that list again and map the record once more before it
    quarantines it."""

    def __init__(self, message: str, list_name: str) -> None:
        super().__init__(message)
        self.list_name = list_name


@dataclass(frozen=True)
class Context:
    """What a transform may know beyond its record."""

    pcn: str
    resource: str
    now: datetime
    window: TimeRange | None = None
    # Records of the resources named in `Resource.lookup` (same window for windowed ones); of a list named
    # in `Resource.lookup_fields`, only those fields of each record.
    lookups: Mapping[str, Sequence[Record]] = field(default_factory=dict)
    # The parent record for a PerParent resource.
    parent: Record | None = None
    # The tenant's plant clock: per-day figures are cut at its local midnight, zone-less dates read in it.
    plant: PlantTime = UTC_PLANT


@dataclass(frozen=True)
class Snapshot:
    """The whole list each run; only changed records are written; vanished ones are marked inactive.

    `vanished_value`: the value a latest-only series takes when the snapshot no longer produces it (e.g. 0
    for WIP at a location and part where no container is left); None leaves such a series as it was.
    `expire_vanished`: its assets are deleted once they have been gone for the configured retention
    (containers: `extractor.inventory.container-retention`), not kept inactive for ever."""

    mark_inactive: bool = True
    vanished_value: float | None = None
    expire_vanished: bool = False


@dataclass(frozen=True)
class Window:
    """Date windows from the watermark: [watermark - lookback, now), cut into spans of at most max_span.

    `begin_param`/`end_param` name the request parameters (Connect) or inputs (Data Source) that bound a
    window; a Data Source window whose answer hit the row limit is split in two until every row is
    fetched. first_reach None means the configured default (7 days) for a first run; align cuts windows at
    multiples of that span (UTC), e.g. whole days for daily figures.
    """

    begin_param: str
    end_param: str
    max_span: timedelta = timedelta(days=1)
    lookback: timedelta = timedelta(hours=2)
    first_reach: timedelta | None = None
    align: timedelta | None = None
    # Windows are the plant's local days (23 or 25 hours when the clocks change); max_span, align ignored.
    plant_days: bool = False
    # Windows are the plant's shift days (from the earliest shift start to the next day's); no windows, and
    # no calls, for a plant without shifts. max_span and align ignored.
    shift_days: bool = False
    # The fetch begins this much before the window: entries that began earlier and still ran into it.
    reach_back: timedelta = timedelta(0)

    @property
    def begin_input(self) -> str:
        """`begin_param` by the name a data source gives it (an input)."""
        return self.begin_param

    @property
    def end_input(self) -> str:
        return self.end_param


@dataclass(frozen=True)
class PerParent:
    """One call per parent record, e.g. BOMs per part: only for parents new or changed since the last run,
    plus a refresh of every parent once per `full_refresh`, spread over that period (each parent on its
    own day of the week, not all at once). The parent's value goes into `param`, or into `{parent}` in
    the path when param is None. The transform is called per child record with `Context.parent` set;
    `object=True` means the path answers one object (e.g. a workcenter's control status), not a list.

    `skip_when`: parents whose field holds one of the listed values have no children, so no call is made
    for them (e.g. raw-material parts have no BOM). With `only_changed=False` every parent is polled, at
    the cadence the runner derives from the budget share for polling. These calls run in the call
    budget's fan-out lane, behind lists and history.

    `keep_as`: the children are kept in the state, each with its parent's key value under this field,
    and a row that names this one in its `lookup` reads what was kept (no Plex call): e.g. which
    workcenters each production line lists, for placing them in the asset tree. Such a row is run again
    once this row's children changed, so it never waits a pass for what this row learnt."""

    parent: str
    parent_key: str
    param: str | None = None
    only_changed: bool = True
    full_refresh: timedelta | None = timedelta(days=7)
    object: bool = False
    skip_when: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    keep_as: str | None = None


DataSourceWindow = Window  # one window mode for every source (the name reads well in Data Source rows)


@dataclass(frozen=True)
class Children:
    """Enrich each record with a sub-list fetched per record, e.g. a job's operations. Fetched only for
    records new or changed since the last run (by a hash of the record as Plex sent it); the list is put
    into the record under `attach_as` before the transform sees it. The record's `parent_key` value goes
    into `{parent}` in the path."""

    path: str
    parent_key: str
    attach_as: str


Mode = Snapshot | Window | PerParent
Transform = Callable[[Record, Context], Iterable[Item]]
PostBodies = Callable[[Context], Sequence[Mapping[str, object]]]
Finish = Callable[[Sequence[Record], Context], Iterable[Item]]
Rows = list[dict[str, Any]]


def _bounded(window: TimeRange | None, mode: Mode) -> dict[str, str]:
    """The request parameters that bound a windowed Connect call (reaching `reach_back` before the window
    for entries that began earlier and ran into it); none for other modes."""
    if window is None or not isinstance(mode, Window):
        return {}
    return window_params(
        TimeRange(window.begin - mode.reach_back, window.end), mode.begin_param, mode.end_param
    )


@dataclass(frozen=True)
class Get:
    """A Connect GET answering a list (`{parent}` in the path for one call per parent)."""

    path: str
    params: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)

    async def fetch(self, plex: PlexSource, mode: Mode, context: Contextual) -> Rows:
        return await plex.get_list(self.path, {**self.params, **_bounded(context.window, mode)})

    async def for_parent(self, plex: PlexSource, mode: PerParent, value: str) -> Rows:
        """One parent's records; the value goes into `mode.param`, or into `{parent}` in the path."""
        params: dict[str, str | Sequence[str]] = dict(self.params)
        if mode.param is not None:
            params[mode.param] = value
        path = self.path.format(parent=quote(value, safe=""))  # escaped: an odd id reaches no other path
        if mode.object:
            answer = await plex.get_object(path, params or None)
            return [] if answer is None else [answer]
        return await plex.get_list(path, params)


@dataclass(frozen=True)
class Post:
    """A Connect POST that only reads (the identity mappings): one call per body, answers concatenated."""

    path: str
    bodies: PostBodies

    async def fetch(self, plex: PlexSource, mode: Mode, context: Contextual) -> Rows:
        bodies = self.bodies(await context.full())
        answers = await asyncio.gather(*(plex.post_list(self.path, body) for body in bodies))
        return [row for rows in answers for row in rows]


@dataclass(frozen=True)
class DataSource:
    """A Data Source API source (a stored procedure, by id) with fixed inputs; windowed by `Window`."""

    id: int
    inputs: Mapping[str, object] = field(default_factory=dict)

    async def fetch(self, plex: PlexSource, mode: Mode, context: Contextual) -> Rows:
        window = context.window
        if isinstance(mode, Window) and window is not None:
            return await plex.execute_datasource_window(
                self.id, self.inputs, mode.begin_param, mode.end_param, window
            )
        return await plex.execute_datasource(self.id, self.inputs)


Source = Get | Post | DataSource


class Contextual(Protocol):
    """What a source may need to make its call: the window, and (for POST bodies) the transform context."""

    @property
    def window(self) -> TimeRange | None: ...

    async def full(self) -> Context: ...


@dataclass(frozen=True)
class Resource:
    name: str  # stable state key; never derived from a function name
    domain: Domain
    source: Source  # where the records come from
    mode: Mode  # how often and over what
    key: tuple[str, ...]  # fields that identify a record: the Plex id, or the documented composite key
    transform: Transform
    # Applied once to all records of a run (or of a window): aggregates such as WIP or OEE.
    finish: Finish | None = None
    lookup: tuple[str, ...] = ()
    # Of a looked-up list (a snapshot row's), the only fields the transforms read: the runner keeps just
    # these of each record, from each read of the list, and re-reads the list at its own row's cadence.
    # A list in `lookup` but not named here is read whole, each pass.
    lookup_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    children: Children | None = None
    # A failure that means "this tenant does not offer it" warns once and the rest carries on.
    optional: bool = False
    # Runs only when the named resource is not offered (e.g. OEE from Connect when the data source is not
    # granted).
    fallback_for: str | None = None
    description: str = ""
    # Runs at most this often (checked at each pass of its domain); None: every pass.
    interval: timedelta | None = None

    def __post_init__(self) -> None:
        if isinstance(self.mode, PerParent) and not isinstance(self.source, Get):
            raise TypeError(f"{self.name}: one call per parent needs a Connect GET source")

    # What the row reads, for those who ask (checks, docs, benchmarks, tests).
    @property
    def api(self) -> Literal["connect", "datasource"]:
        return "datasource" if isinstance(self.source, DataSource) else "connect"

    @property
    def path(self) -> str:
        return "" if isinstance(self.source, DataSource) else self.source.path

    @property
    def params(self) -> Mapping[str, str | tuple[str, ...]]:
        return self.source.params if isinstance(self.source, Get) else {}

    @property
    def datasource_id(self) -> int | None:
        return self.source.id if isinstance(self.source, DataSource) else None

    @property
    def datasource_inputs(self) -> Mapping[str, object]:
        return self.source.inputs if isinstance(self.source, DataSource) else {}

    @property
    def post_bodies(self) -> PostBodies | None:
        return self.source.bodies if isinstance(self.source, Post) else None
