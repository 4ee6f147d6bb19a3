"""Resource rows built from the configuration's `resources:` section: ordinary rows for the runner (the
same modes, budget, windows, change detection and commit rules as the built-in ones), with one generic
transform per target: a RAW table, events, or time series.

Also the check of a data-source entry against the source's published metadata (inputs, columns), which
the service runs when it opens, before any call that reads data. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from plex_cdf.config.resources import ConfiguredResource, asset_link, known_names, named_fields
from plex_cdf.domains.common import (
    LINK_FIELDS,
    READABLE,
    lineage,
    linked_id,
    merged,
    metadata_from,
    plex_ms,
    readable_id,
)
from plex_cdf.domains.registry import ALL
from plex_cdf.domains.resource import (
    Context,
    DataSource,
    Get,
    Mode,
    PerParent,
    Quarantine,
    Record,
    Resource,
    Snapshot,
    Source,
    Window,
)
from plex_cdf.ids import external_id, hashed_key, joined_key
from plex_cdf.items import Datapoints, Event, Item, RawRow, TimeSeries

MAX_ID_KEY = 200  # longer joined keys are hashed so the external id fits CDF's 255 characters
_PARENT = "{parent}"


def rows_with(specs: Sequence[ConfiguredResource]) -> tuple[Resource, ...]:
    """The built-in rows followed by the configured ones."""
    return ALL + tuple(build_row(spec) for spec in specs)


def build_row(spec: ConfiguredResource) -> Resource:
    transform, finish = _target(spec)
    return Resource(
        name=spec.name,
        domain=spec.domain,
        source=_source(spec),
        mode=_mode(spec),
        key=tuple(spec.key),
        transform=transform,
        finish=finish,
        lookup=_linked_lists(spec),
        lookup_fields=LINK_FIELDS,
        interval=spec.interval,
        description=f"configured: {spec.path or f'data source {spec.data_source}'} -> {spec.target}",
    )


def _linked_lists(spec: ConfiguredResource) -> tuple[str, ...]:
    """The master-data lists whose codes key the row's links to workcenters, parts or locations."""
    kinds = list(spec.events.asset_links.values()) if spec.events else []
    if spec.time_series is not None and spec.time_series.asset_link:
        kinds.append(asset_link(spec.time_series.asset_link)[1])
    return tuple(dict.fromkeys(READABLE[k].list for k in kinds if k in READABLE))


def _link(ctx: Context, kind: str, value: object) -> str:
    """A configured link: by the code for a kind people look up (`READABLE`), else by the value."""
    if kind in READABLE:
        return readable_id(ctx, kind, str(value))
    return external_id(ctx.pcn, kind, str(value))


def _source(spec: ConfiguredResource) -> Source:
    if spec.data_source is not None:
        return DataSource(spec.data_source, dict(spec.inputs))
    return Get(_path(spec), dict(spec.params))


def _path(spec: ConfiguredResource) -> str:
    """The Connect path with its one placeholder spelled `{parent}`, as PerParent fills it."""
    path = spec.path or ""
    if spec.per_parent is not None and spec.per_parent.param is None:
        head, _, rest = path.partition("{")
        return head + _PARENT + rest.partition("}")[2]
    return path


def _mode(spec: ConfiguredResource) -> Mode:
    if spec.windows is not None:
        w = spec.windows
        return Window(w.begin, w.end, max_span=w.max_span, lookback=w.lookback)
    if spec.per_parent is not None:
        p = spec.per_parent
        return PerParent(p.resource, p.field, param=p.param)
    return Snapshot(mark_inactive=spec.target == "events")


def _target(spec: ConfiguredResource) -> tuple[Any, Any]:
    if spec.target == "events":
        return partial(to_event, spec), None
    if spec.target == "time-series":
        return partial(check_point, spec), partial(to_series, spec)
    return partial(to_raw_row, spec), None


# ---------------------------------------------------------------------------------------------- targets


def record_key(spec: ConfiguredResource, record: Record, ctx: Context) -> str:
    """The record's key fields joined (under its parent's value for per-parent rows); hashed when long.
    Quarantine when every key field is empty: such a record cannot be told from another."""
    if all(record.get(f) in (None, "") for f in spec.key):
        raise Quarantine(f"missing key {', '.join(spec.key)}")
    joined = joined_key(record, spec.key)
    if ctx.parent is not None and spec.per_parent is not None:
        joined = f"{ctx.parent.get(spec.per_parent.field)}|{joined}"
    return joined if len(joined) <= MAX_ID_KEY else hashed_key(joined)


def to_raw_row(spec: ConfiguredResource, record: Record, ctx: Context) -> Iterable[Item]:
    yield RawRow(spec.name, record_key(spec, record, ctx), dict(record))


def to_event(spec: ConfiguredResource, record: Record, ctx: Context) -> Iterable[Item]:
    target = spec.events
    assert target is not None
    key = record_key(spec, record, ctx)
    links = tuple(
        _link(ctx, kind, record[field])
        for field, kind in target.asset_links.items()
        if record.get(field) not in (None, "")
    )
    description = record.get(target.description) if target.description else None
    yield Event(
        external_id=external_id(ctx.pcn, spec.name, key),
        data_set=spec.data_set_key(),
        type=target.type,
        subtype=target.subtype,
        start_time=plex_ms(record, target.start_time, required_field=True),
        end_time=plex_ms(record, target.end_time) if target.end_time else None,
        description=None if description is None else str(description),
        metadata=merged(metadata_from(record, sorted(record)), lineage(spec.name, key)),
        asset_external_ids=links,
    )


def check_point(spec: ConfiguredResource, record: Record, ctx: Context) -> Iterable[Item]:
    """Per record: its series (the points are gathered per series by `to_series`); Quarantine when the
    value is not a number or the time not a date-time."""
    _point(spec, record, ctx)
    yield _series(spec, record, ctx)


def to_series(spec: ConfiguredResource, records: Sequence[Record], ctx: Context) -> Iterable[Item]:
    """Every point of the run (or window), one Datapoints per series; quarantined records are skipped."""
    points: dict[str, list[tuple[int, float | str]]] = {}
    for record in records:
        try:
            at, value = _point(spec, record, ctx)
        except Quarantine:
            continue
        points.setdefault(_series_id(spec, record, ctx), []).append((at, value))
    latest = spec.time_series is not None and spec.time_series.time is None
    for series, pairs in points.items():
        yield Datapoints(series, tuple(sorted(pairs)), latest_only=latest)


def _point(spec: ConfiguredResource, record: Record, ctx: Context) -> tuple[int, float]:
    target = spec.time_series
    assert target is not None
    value = record.get(target.value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Quarantine(f"{target.value} is not a number: {value!r}")
    if target.time is None:
        return int(ctx.now.timestamp() * 1000), float(value)
    at = plex_ms(record, target.time, required_field=True)
    assert at is not None
    return at, float(value)


def _series_id(spec: ConfiguredResource, record: Record, ctx: Context) -> str:
    assert spec.time_series is not None
    key = joined_key(record, spec.time_series.series_key)
    return external_id(ctx.pcn, spec.name, key if len(key) <= MAX_ID_KEY else hashed_key(key))


def _series(spec: ConfiguredResource, record: Record, ctx: Context) -> TimeSeries:
    target = spec.time_series
    assert target is not None
    key = joined_key(record, target.series_key)
    asset = None
    if target.asset_link:
        field, kind = asset_link(target.asset_link)
        if record.get(field) not in (None, ""):
            asset = (
                linked_id(ctx, kind, str(record[field]))
                if kind in READABLE
                else _link(ctx, kind, record[field])
            )
    return TimeSeries(
        external_id=_series_id(spec, record, ctx),
        name=f"{spec.name} {key}",
        data_set=spec.data_set_key(),
        asset_external_id=asset,
        unit=target.unit,
        metadata=merged(metadata_from(record, target.series_key), lineage(spec.name, key)),
    )


# ------------------------------------------------------------------------- against published metadata


def check_against_metadata(spec: ConfiguredResource, metadata: Mapping[str, Any]) -> list[str]:
    """A data-source entry against the source's published metadata: every input it gives or windows over
    exists (dates for windows), every required input is given, every field it names is a column. One
    line per mistake, each naming the entry."""
    where = f"resources: {spec.name!r} (data source {spec.data_source})"
    inputs = {str(i.get("name")): i for i in metadata.get("inputs") or [] if isinstance(i, Mapping)}
    columns = {str(c.get("name")) for c in metadata.get("columns") or [] if isinstance(c, Mapping)}
    problems: list[str] = []
    given = list(spec.inputs)
    if spec.windows is not None:
        for role, name in (("begin", spec.windows.begin), ("end", spec.windows.end)):
            found = inputs.get(name)
            if found is None:
                problems.append(f"{where}: windows.{role} {name!r} is not an input{known_names(inputs)}")
            elif "date" not in str(found.get("type")).lower():
                problems.append(f"{where}: windows.{role} {name!r} is a {found.get('type')}, not a date")
            given.append(name)
    if spec.per_parent is not None and spec.per_parent.param is not None:
        given.append(spec.per_parent.param)
    problems += [
        f"{where}: inputs.{n} is not an input{known_names(inputs)}" for n in spec.inputs if n not in inputs
    ]
    problems += [
        f"{where}: input {n!r} is required: give it under inputs"
        for n, i in inputs.items()
        if i.get("required") and n not in given
    ]
    if columns:
        problems += [
            f"{where}: {place} {name!r} is not a column{known_names(columns)}"
            for place, name in named_fields(spec)
            if name not in columns
        ]
    return problems


def domain_rows(specs: Sequence[ConfiguredResource], domain: str) -> tuple[Resource, ...]:
    """The rows one domain's pass runs, in order: its built-in rows, then its configured ones."""
    return tuple(r for r in rows_with(specs) if r.domain == domain)
