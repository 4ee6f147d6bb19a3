"""A resource row: one Plex endpoint spelled out as data.

The runner reads a row to know what to call (path, params, mode), how to recognise a record (key) and what
to make of it (transform, finish). Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from plex_cdf.items import Item
from plex_cdf.windows import Record, TimeRange

__all__ = [
    "DOMAINS",
    "Children",
    "Context",
    "DataSourceWindow",
    "Domain",
    "Mode",
    "PerParent",
    "Quarantine",
    "Record",
    "Resource",
    "Snapshot",
    "TimeRange",
    "Window",
]

Domain = Literal["master_data", "jobs", "production", "inventory", "quality", "performance"]
DOMAINS: tuple[Domain, ...] = ("master_data", "jobs", "production", "inventory", "quality", "performance")


class Quarantine(ValueError):
    """Raised by a transform for a record it cannot map; the message names the field and the value."""


@dataclass(frozen=True)
class Context:
    """What a transform may know beyond its record."""

    pcn: str
    resource: str
    now: datetime
    window: TimeRange | None = None
    # Records of the resources named in `Resource.lookup` (same window for windowed ones).
    lookups: Mapping[str, Sequence[Record]] = field(default_factory=dict)
    # The parent record for a PerParent resource.
    parent: Record | None = None


@dataclass(frozen=True)
class Snapshot:
    """The whole list each run; only changed records are written; vanished ones are marked inactive.

    `vanished_value`: the value a latest-only series takes when the snapshot no longer produces it (e.g. 0
    for WIP at a location and part where no container is left); None leaves such a series as it was."""

    mark_inactive: bool = True
    vanished_value: float | None = None


@dataclass(frozen=True)
class Window:
    """Date windows from the watermark: [watermark - lookback, now), cut into spans of at most max_span.

    first_reach None means the configured default (7 days) for a first run; align cuts windows at
    multiples of that span (UTC), e.g. whole days for daily figures.
    """

    begin_param: str
    end_param: str
    max_span: timedelta = timedelta(days=1)
    lookback: timedelta = timedelta(hours=2)
    first_reach: timedelta | None = None
    align: timedelta | None = None


@dataclass(frozen=True)
class PerParent:
    """One call per parent record, e.g. BOMs per part: only for parents new or changed since the last run,
    plus a full refresh every `full_refresh`. The parent's value goes into `param`, or into `{parent}` in
    the path when param is None. The transform is called per child record with `Context.parent` set;
    `object=True` means the path answers one object (e.g. a workcenter's control status), not a list."""

    parent: str
    parent_key: str
    param: str | None = None
    only_changed: bool = True
    full_refresh: timedelta | None = timedelta(days=7)
    object: bool = False


@dataclass(frozen=True)
class DataSourceWindow:
    """A Data Source API source executed over date windows; a window whose answer hit the row limit is
    split in two until every row is fetched."""

    begin_input: str
    end_input: str
    max_span: timedelta = timedelta(days=1)
    lookback: timedelta = timedelta(hours=2)
    first_reach: timedelta | None = None
    align: timedelta | None = None


@dataclass(frozen=True)
class Children:
    """Enrich each record with a sub-list fetched per record, e.g. a job's operations. Fetched only for
    records new or changed since the last run (by a hash of the record as Plex sent it); the list is put
    into the record under `attach_as` before the transform sees it. The record's `parent_key` value goes
    into `{parent}` in the path."""

    path: str
    parent_key: str
    attach_as: str


Mode = Snapshot | Window | PerParent | DataSourceWindow
Transform = Callable[[Record, Context], Iterable[Item]]
PostBodies = Callable[[Context], Sequence[Mapping[str, object]]]
Finish = Callable[[Sequence[Record], Context], Iterable[Item]]


@dataclass(frozen=True)
class Resource:
    name: str  # stable state key; never derived from a function name
    domain: Domain
    path: str  # Connect path (may hold `{parent}`), or "" for a data source
    mode: Mode
    key: tuple[str, ...]  # fields that identify a record: the Plex id, or the documented composite key
    transform: Transform
    params: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    api: Literal["connect", "datasource"] = "connect"
    datasource_id: int | None = None
    datasource_inputs: Mapping[str, object] = field(default_factory=dict)
    # Applied once to all records of a run (or of a window): aggregates such as WIP or OEE.
    finish: Finish | None = None
    lookup: tuple[str, ...] = ()
    children: Children | None = None
    # A Connect call that reads by POST (the identity mappings): one call per body, answers concatenated.
    post_bodies: PostBodies | None = None
    # A failure that means "this tenant does not offer it" warns once and the rest carries on.
    optional: bool = False
    # Runs only when the named resource is not offered (e.g. OEE from Connect when the data source is not
    # granted).
    fallback_for: str | None = None
    description: str = ""
