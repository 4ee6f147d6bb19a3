"""Planning a write: which items changed since the last acknowledged write, and what their hashes are.

Shared by the Writer and the DryRunSink, so a dry run reports exactly what a real run would send.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from plex_cdf.cdf.hashing import (
    INACTIVE_PREFIX,
    PENDING_SUFFIX,
    content_hash,
    kind_of_hash,
    state_key,
    vanished_since,
)
from plex_cdf.cdf.limits import Alterations
from plex_cdf.cdf.transport import Json
from plex_cdf.items import Asset, Datapoints, DataSetKey, Event, Item, RawRow, Relationship, TimeSeries
from plex_cdf.ports import Expiry, Point, Sink, StateStore, WriteReport

KIND_ORDER = ("asset", "timeseries", "event", "relationship", "datapoints", "raw")  # dependency order
WRITE_OPS = frozenset({"create", "update", "insert", "apply", "delete"})


@dataclass
class WriterCounters:
    """Totals since the sink was made: cuts by name, calls by `kind.op`, refusals and links waiting."""

    alterations: Alterations = field(default_factory=Alterations)
    calls: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)  # items CDF refused, by kind
    unresolved_links: int = 0
    assets_waiting: int = 0

    @property
    def write_calls(self) -> int:
        return sum(n for name, n in self.calls.items() if name.rsplit(".", 1)[-1] in WRITE_OPS)


ItemT = TypeVar("ItemT", Asset, Event, TimeSeries, Relationship, Datapoints, RawRow)


@dataclass(slots=True)
class Planned(Generic[ItemT]):
    """One changed item on its way: where its hash goes and the body to send."""

    resource: str
    key: str  # the item's key in the state (see hashing.state_key)
    digest: str
    item: ItemT
    body: Json = field(default_factory=dict)
    missing_links: tuple[str, ...] = ()
    known: bool = False  # written before (its key has a hash): updated, not created

    @property
    def committed_digest(self) -> str:
        return self.digest + PENDING_SUFFIX if self.missing_links else self.digest


def data_set_id(item: Item, data_set_ids: Mapping[str, int]) -> int | None:
    key: DataSetKey | None = getattr(item, "data_set", None)
    return None if key is None else data_set_ids.get(key)


@dataclass
class Plan:
    """The changed items of one write, per kind, typed, in dependency order (KIND_ORDER)."""

    asset: list[Planned[Asset]] = field(default_factory=list)
    timeseries: list[Planned[TimeSeries]] = field(default_factory=list)
    event: list[Planned[Event]] = field(default_factory=list)
    relationship: list[Planned[Relationship]] = field(default_factory=list)
    datapoints: list[Planned[Datapoints]] = field(default_factory=list)
    raw: list[Planned[RawRow]] = field(default_factory=list)

    def by_kind(self) -> list[tuple[str, Sequence[Planned[Any]]]]:
        return [(kind, getattr(self, kind)) for kind in KIND_ORDER]


def plan_changes(
    resource: str,
    items: Sequence[Item],
    hashes: Mapping[str, str],
    data_set_ids: Mapping[str, int],
    counters: WriterCounters,
    report: WriteReport,
) -> Plan:
    """Changed items by kind, the last one winning when a key repeats in the batch."""
    latest: dict[str, Item] = {}
    for item in items:
        key = state_key(item)
        if key in latest:
            counters.alterations["duplicate_in_batch"] += 1
            report.altered += 1
        latest[key] = item
    plan = Plan()
    for key, item in latest.items():
        digest = content_hash(item, data_set_id(item, data_set_ids))
        if hashes.get(key) == digest:
            report.unchanged += 1
            continue
        known = key in hashes
        if isinstance(item, Asset):
            plan.asset.append(Planned(resource, key, digest, item, known=known))
        elif isinstance(item, TimeSeries):
            plan.timeseries.append(Planned(resource, key, digest, item, known=known))
        elif isinstance(item, Event):
            plan.event.append(Planned(resource, key, digest, item, known=known))
        elif isinstance(item, Relationship):
            plan.relationship.append(Planned(resource, key, digest, item, known=known))
        elif isinstance(item, Datapoints):
            plan.datapoints.append(Planned(resource, key, digest, item, known=known))
        else:
            plan.raw.append(Planned(resource, key, digest, item, known=known))
    return plan


def commit_planned(state: StateStore, pcn: str, entries: Iterable[Planned[Any]]) -> None:
    """Record acknowledged writes: their hashes, per resource, in one state commit each."""
    by_resource: dict[str, dict[str, str]] = {}
    for entry in entries:
        by_resource.setdefault(entry.resource, {})[entry.key] = entry.committed_digest
    for resource, hashes in by_resource.items():
        state.commit_hashes(pcn, resource, hashes)


def inactive_due(hashes: Mapping[str, str], external_ids: Sequence[str], kind: str) -> list[str]:
    """The external ids of `kind` (asset or event) written and not yet flagged inactive."""
    return [
        xid
        for xid in external_ids
        if (value := hashes.get(xid))
        and not value.startswith(INACTIVE_PREFIX)
        and kind_of_hash(value) == kind
    ]


def chunks(seq: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [seq[i : i + size] for i in range(0, len(seq), size)]


def count_kind(report: WriteReport, name: str, n: int) -> None:
    report.by_kind[name] = report.by_kind.get(name, 0) + n


async def retire_vanished(
    sink: Sink,
    state: StateStore | None,
    pcn: str,
    resource: str,
    kept: Sequence[Item],
    *,
    mark_inactive: bool,
    end_point: Point | None,
    expiry: Expiry | None = None,
    record: bool = True,
) -> WriteReport:
    """`Sink.retire_vanished` over the hashes a sink keeps for `resource` in `state` (none: nothing was
    written); `record` False (a dry run) keeps no vanish times."""
    hashes = {} if state is None else state.get_hashes(pcn, resource)
    objects, series = vanished_since(hashes, kept)
    report = WriteReport()
    if expiry is not None and state is not None:
        doomed = expired_assets(state, pcn, resource, hashes, objects, expiry, record=record)
        if doomed:
            report.add(await sink.delete(resource, doomed))
            objects = [x for x in objects if x not in set(doomed)]
    if mark_inactive and objects:
        report.add(await sink.mark_inactive(resource, objects))
    if end_point is not None and series:
        report.add(
            await sink.write(resource, [Datapoints(x, (end_point,), latest_only=True) for x in series])
        )
    return report


DeleteCall = Callable[[list[str], WriteReport], Awaitable[None]]


async def delete_in_chunks(
    state: StateStore,
    pcn: str,
    resource: str,
    external_ids: Sequence[str],
    size: int,
    send: DeleteCall,
    kind: str,
) -> WriteReport:
    """`Sink.delete`: `send` deletes each chunk of `size` ids (an id already gone being no error); then
    their state is forgotten and they are counted as deleted (and under `kind` by kind)."""
    report = WriteReport()
    for chunk in chunks(list(external_ids), size):
        keys = list(chunk)
        await send(keys, report)
        forget_deleted(state, pcn, resource, keys)
        report.deleted += len(keys)
        count_kind(report, kind, len(keys))
    return report


def vanished_key(resource: str) -> str:
    """Where a sink keeps, per asset gone from `resource`'s snapshot, when a run first saw it gone."""
    return f"{resource}#vanished"


def expired_assets(
    state: StateStore,
    pcn: str,
    resource: str,
    hashes: Mapping[str, str],
    vanished: Sequence[str],
    expiry: Expiry,
    *,
    record: bool = True,
) -> list[str]:
    """Of the `vanished` objects, the assets gone for at least `expiry.after`. Each asset's first sighting
    gone is kept (`record`; a dry run keeps nothing), and one back in the snapshot is forgotten, so its
    time starts afresh if it leaves again."""
    gone = [x for x in vanished if x in hashes and kind_of_hash(hashes[x]) == "asset"]
    slot = vanished_key(resource)
    since = state.get_hashes(pcn, slot)
    if record:
        first_seen = {x: expiry.now.isoformat() for x in gone if x not in since}
        back = [x for x in since if x not in set(gone)]
        if first_seen or back:
            state.commit_hashes(pcn, slot, first_seen, back)
    return [x for x in gone if x in since and expiry.now - datetime.fromisoformat(since[x]) >= expiry.after]


def forget_deleted(state: StateStore, pcn: str, resource: str, external_ids: Sequence[str]) -> None:
    """After a delete CDF acknowledged: no hash (a return is written afresh) and no vanish time."""
    state.commit_hashes(pcn, resource, {}, external_ids)
    state.commit_hashes(pcn, vanished_key(resource), {}, external_ids)
