"""The `resources:` section: extra resource rows declared in the terms of the built-in ones.

Each entry names a Connect GET path or a data source id, its key fields, its mode (the whole list each run,
date windows, or one call per parent record of another resource), its interval and its target (a RAW
table, events, or time series). The section is checked twice before any call that reads data: here,
against the documented Connect route list the product ships (paths, query parameters, fields), and when
the service opens, against each data source's published metadata (inputs, columns; see
`domains.configured.check_against_metadata`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator, model_validator

from plex_cdf.config.section import Section
from plex_cdf.config.types import Duration
from plex_cdf.domains.resource import Domain
from plex_cdf.items import DataSetKey
from plex_cdf.plex.routes import Route, nearest_routes, route_for

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
VIEW_NAME = re.compile(r"[a-zA-Z]([a-zA-Z0-9_]{0,253}[a-zA-Z0-9])?")
# View external ids CDF's Data Modeling refuses (its GraphQL type names).
RESERVED_VIEWS = frozenset(
    {
        *("Query", "Mutation", "Subscription", "String", "Int32", "Int64", "Int", "Float32", "Float64"),
        *("Float", "Timestamp", "JSONObject", "Date", "Numeric", "Boolean", "PageInfo", "File", "Sequence"),
        "TimeSeries",
    }
)
DATE_TYPES = ("date-time", "date")
DATA_SET_OF_DOMAIN: dict[str, DataSetKey] = {
    "master_data": "master",
    "jobs": "scheduling",
    "production": "production",
    "inventory": "inventory",
    "quality": "quality",
    "performance": "production",
}


class WindowsSpec(Section):
    """Date windows from the watermark: the begin/end query parameters (Connect) or inputs (data
    source) that bound each window."""

    begin: str = Field(min_length=1)
    end: str = Field(min_length=1)
    max_span: Duration = timedelta(days=1)
    lookback: Duration = timedelta(hours=2)


class PerParentSpec(Section):
    """One call per record of another resource: the parent's `field` goes into the path's placeholder, or
    into query parameter (input) `param` when given."""

    resource: str = Field(min_length=1)
    field: str = Field(min_length=1)
    param: str | None = None


class EventsTarget(Section):
    """Each record an event; `asset-links` maps a field holding a Plex id to the asset kind it names
    (workcenter, part, building, location, ...), e.g. `{partId: part}`."""

    type: str = Field(min_length=1)
    subtype: str | None = None
    start_time: str = Field(min_length=1)
    end_time: str | None = None
    description: str | None = None  # a field whose value becomes the description
    asset_links: dict[str, str] = Field(default_factory=dict)


class TimeSeriesTarget(Section):
    """One series per distinct value of `series-key` fields; each record a point of `value` at `time`
    (without `time`: the instant of the read, written only when the value changed)."""

    value: str = Field(min_length=1)
    time: str | None = None
    series_key: list[str] = Field(min_length=1)
    unit: str | None = None
    asset_link: str | None = None  # `field: kind`, e.g. "workcenterId: workcenter"


class ConfiguredResource(Section):
    name: str
    path: str | None = None
    data_source: int | None = Field(default=None, gt=0)
    domain: Domain = "master_data"
    key: list[str] = Field(min_length=1)
    params: dict[str, str] = Field(default_factory=dict)  # fixed Connect query parameters
    inputs: dict[str, str | int | float | bool] = Field(default_factory=dict)  # fixed data-source inputs
    mode: Literal["snapshot", "windows", "per-parent"] = "snapshot"
    windows: WindowsSpec | None = None
    per_parent: PerParentSpec | None = None
    interval: Duration | None = None  # None: every pass of its domain
    target: Literal["raw", "events", "time-series"] = "raw"
    events: EventsTarget | None = None
    time_series: TimeSeriesTarget | None = None
    data_set: DataSetKey | None = None  # None: the domain's (master data -> master, jobs -> scheduling, ...)
    # The data-modeling target's view for the rows (in plex-cdf's schema space); the classic target
    # ignores it, so one entry serves both targets.
    view: str | None = None

    @field_validator("name")
    @classmethod
    def _name_is_a_state_key(cls, value: str) -> str:
        if not re.fullmatch(NAME_PATTERN, value):
            raise ValueError(
                f"{value!r} is not a resource name: use lower-case letters, digits and _ (at most 63, "
                "starting with a letter); it names the state and the RAW table"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ConfiguredResource:
        for problem in shape_problems(self):
            raise ValueError(problem)
        return self

    def data_set_key(self) -> DataSetKey:
        return self.data_set or DATA_SET_OF_DOMAIN[self.domain]


def shape_problems(spec: ConfiguredResource) -> list[str]:
    """Mistakes visible in the entry alone, then against the documented route list (Connect paths)."""
    problems: list[str] = []
    if (spec.path is None) == (spec.data_source is None):
        problems.append("give exactly one of path (a Connect GET path) or data-source (a data source id)")
    pairs = (("windows", spec.windows), ("per-parent", spec.per_parent))
    for mode, section in pairs:
        if spec.mode == mode and section is None:
            problems.append(f"mode {mode} needs a {mode} section")
        if spec.mode != mode and section is not None:
            problems.append(f"a {mode} section is given but mode is {spec.mode}")
    targets = (("events", spec.events is not None), ("time-series", spec.time_series is not None))
    for target, present in targets:
        if spec.target == target and not present:
            problems.append(f"target {target} needs a {target} section")
        if spec.target != target and present:
            problems.append(f"a {target} section is given but target is {spec.target}")
    if spec.path is not None and spec.inputs:
        problems.append("inputs are for data sources; a Connect path takes params")
    if spec.data_source is not None and spec.params:
        problems.append("params are for Connect paths; a data source takes inputs")
    if spec.view is not None:
        problems += view_problems(spec.view)
    if spec.path is not None and not problems:
        problems += route_problems(spec)
    return problems[:1]


def view_problems(view: str) -> list[str]:
    """A view external id CDF accepts in plex-cdf's schema space, not one of plex-cdf's own views."""
    from plex_cdf.cdf.dm.model import VIEW_BY_NAME

    if not VIEW_NAME.fullmatch(view):
        return [
            f"view {view!r} is not a view name: a letter, then letters, digits or _ (at most 255, not"
            " ending in _), e.g. PlexPurchaseOrder"
        ]
    if view in RESERVED_VIEWS:
        return [f"view {view!r} is a name CDF reserves; choose another, e.g. Plex{view}"]
    if view in VIEW_BY_NAME:
        return [f"view {view!r} is one of plex-cdf's own views; choose another name for these rows"]
    return []


def route_problems(spec: ConfiguredResource) -> list[str]:
    """A Connect path against Plex's documented GET routes: the path, its answer, its placeholders, the
    query parameters and the fields the entry names."""
    assert spec.path is not None
    route = route_for(spec.path)
    if route is None:
        near = nearest_routes(spec.path)
        hint = f"; did you mean {' or '.join(near)}?" if near else ""
        return [
            f"path {spec.path} is not a documented Plex Connect GET route{hint} "
            "(fix: copy a path from `plex-cdf discover` or Plex's API reference)"
        ]
    placeholders = route.placeholders
    if spec.mode == "per-parent" and spec.per_parent is not None and spec.per_parent.param is None:
        if len(placeholders) != 1:
            return [f"path {spec.path} has {len(placeholders)} placeholders; per-parent fills exactly one"]
    elif placeholders and spec.mode != "per-parent":
        return [f"path {spec.path} needs {{{placeholders[0]}}}: use mode per-parent to fill it"]
    if route.answer == "file":
        return [f"path {spec.path} answers a file, not records"]
    if route.answer == "object" and spec.mode != "per-parent":
        return [f"path {spec.path} answers one object; use a list route, or mode per-parent"]
    return _param_problems(spec, route) + _field_problems(spec, route)


def _param_problems(spec: ConfiguredResource, route: Route) -> list[str]:
    documented = route.query_params()
    given = dict.fromkeys(spec.params)
    if spec.windows is not None:
        for role, name in (("begin", spec.windows.begin), ("end", spec.windows.end)):
            param = documented.get(name)
            if param is None:
                known = known_names(documented)
                return [f"windows.{role}: {name!r} is not a query parameter of {route.path}{known}"]
            if param.type not in DATE_TYPES:
                return [f"windows.{role}: {name!r} of {route.path} is a {param.type}, not a date"]
            given[name] = None
    if spec.per_parent is not None and spec.per_parent.param is not None:
        given[spec.per_parent.param] = None
    for name in given:
        if name not in documented:
            return [f"params: {name!r} is not a query parameter of {route.path}{known_names(documented)}"]
    missing = [p.name for p in documented.values() if p.required and p.name not in given]
    if missing:
        return [f"{route.path} requires query parameter {missing[0]!r}: give it in params or windows"]
    return []


def _field_problems(spec: ConfiguredResource, route: Route) -> list[str]:
    if not route.fields:
        return []
    for where, name in named_fields(spec):
        if name not in route.fields:
            return [f"{where}: {name!r} is not a field {route.path} answers{known_names(route.fields)}"]
    return []


def named_fields(spec: ConfiguredResource) -> list[tuple[str, str]]:
    """Every record field the entry names, with where it names it (for one clear error)."""
    named = [(f"key[{i}]", name) for i, name in enumerate(spec.key)]
    if spec.events is not None:
        e = spec.events
        named += [("events.start-time", e.start_time)]
        named += [("events.end-time", e.end_time)] if e.end_time else []
        named += [("events.description", e.description)] if e.description else []
        named += [(f"events.asset-links.{f}", f) for f in e.asset_links]
    if spec.time_series is not None:
        t = spec.time_series
        named += [("time-series.value", t.value)]
        named += [("time-series.time", t.time)] if t.time else []
        named += [(f"time-series.series-key[{i}]", n) for i, n in enumerate(t.series_key)]
        if t.asset_link:
            named += [("time-series.asset-link", asset_link(t.asset_link)[0])]
    return named


def asset_link(text: str) -> tuple[str, str]:
    """`field: kind` as (field, kind)."""
    field, _, kind = text.partition(":")
    return field.strip(), kind.strip()


def known_names(names: Iterable[str]) -> str:
    """` (it has: a, b, ...)`: what the user could have written instead (empty when nothing is known)."""
    listed = sorted(names)
    shown = ", ".join(listed[:12]) + (", ..." if len(listed) > 12 else "")
    return f" (it has: {shown})" if listed else ""


def section_problems(resources: list[ConfiguredResource], builtin: set[str]) -> list[str]:
    """Mistakes across entries: names used twice or taken by a built-in row, parents naming no row."""
    names = [r.name for r in resources]
    problems = []
    for spec in resources:
        where = f"resource {spec.name!r}"
        if spec.name in builtin:
            problems.append(f"{where}: that name is a built-in resource's; choose another name")
        elif names.count(spec.name) > 1:
            problems.append(f"{where}: the name is used twice")
        if spec.view is not None and [r.view for r in resources].count(spec.view) > 1:
            problems.append(f"{where}: view {spec.view!r} is named by another resource too; one view each")
        if spec.per_parent is not None:
            parent = spec.per_parent.resource
            if parent not in builtin and parent not in names:
                problems.append(f"{where}: per-parent.resource names no resource: {parent!r}")
    return problems


def data_modeling_problems(resources: list[ConfiguredResource]) -> list[str]:
    """Mistakes only the data-modeling target sees: it writes no RAW tables, so a `raw` entry needs a view
    for its rows."""
    return [
        f"resource {spec.name!r}: the data-modeling target writes no RAW tables; give it a view for its rows"
        f" (e.g. view: {suggested_view(spec.name)})"
        for spec in resources
        if spec.target == "raw" and spec.view is None
    ]


def suggested_view(name: str) -> str:
    """`purchase_orders` -> `PlexPurchaseOrders`."""
    return "Plex" + "".join(part.capitalize() for part in name.split("_"))
