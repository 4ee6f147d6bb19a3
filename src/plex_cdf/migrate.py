"""`plex-cdf migrate`: bring a CDF project written by an earlier plex-cdf to what this one writes.

The upgrade is data: `MOVES` lists what changed between layouts, one row per change, and `plan` turns the
rows and what CDF holds now into the exact updates (a dry run prints them, nothing else). Objects keep
their internal ids: external ids are renamed in place (CDF updates an external id by internal id), so
datapoints, event links and parents stay; relationships and RAW rows that name a renamed asset by its
external id are rewritten. Only emptied grouping assets are deleted: a series no longer written is flagged
`plexRetired`, its datapoints kept. New event shapes (jobs) and the plant-shaped tree are written by the
first run after the state's re-read (`Reread`); docs/upgrade-notes.md says what each release moves.

Planning is pure (`plan`); reading CDF and applying the plan are the two I/O steps (`read_project`,
`apply`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from plex_cdf.cdf.transport import SdkApi
from plex_cdf.domains.common import META_KEY_RULE, PLEX_RESOURCE, READABLE, SOURCE_ID, meta_key
from plex_cdf.domains.master_data import BOM_TABLE
from plex_cdf.domains.performance import FRACTION, PERCENT_PER_FRACTION
from plex_cdf.domains.registry import ALL
from plex_cdf.ids import external_id, readable_keys, root_external_id
from plex_cdf.ports import StateStore

LAYOUT = 2
"""The layout this plex-cdf writes (round 1 wrote layout 1). Kept in the state under LAYOUT_KEY."""
LAYOUT_KEY = "#layout"
ITEMS_PER_CALL = 1000

Json = dict[str, Any]


# --- the moves, as data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RewriteMetadata:
    """Every metadata key of assets, events and series (and the named RAW table's columns) into the one
    style (`meta_key`); `renamed` names keys that change more than their style."""

    why: str
    renamed: Mapping[str, str] = field(default_factory=dict)
    raw_tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class RenameAssets:
    """Assets of `kind` (written by the kind's master-data row) get the readable external id: the code
    Plex shows, from their own metadata, collisions told apart as a run does (`ids.readable_keys`)."""

    kind: str
    why: str


@dataclass(frozen=True)
class RetireSeries:
    """Series `PCN{pcn}_{kind}_...` are no longer written: flagged `plexRetired` = `true` and
    `plexRetiredWhy`, datapoints kept (delete them by hand when nobody reads them)."""

    kind: str
    why: str


@dataclass(frozen=True)
class RescaleSeries:
    """Series `PCN{pcn}_{kind}_...` still in unit `old_unit` change scale: every datapoint is multiplied by
    `factor` in place (same timestamps) and the unit becomes `unit`. The unit tells a rescaled series from
    one still to do, so a second migrate leaves it alone."""

    kind: str
    old_unit: str
    unit: str
    factor: float
    why: str


@dataclass(frozen=True)
class Reread:
    """The tenant's state (watermarks, hashes, waiting links) is forgotten, so the next run fetches
    `extractor.first-run-reach` of history again and rewrites it in the new shape (same external ids:
    updates, never duplicates). Older history keeps its content, with the moves above applied; a
    `plex-cdf backfill` over it rewrites it too."""

    why: str


@dataclass(frozen=True)
class Ungroup:
    """Grouping assets `PCN{pcn}_group_{key}` no row writes any more: each one's children move to the
    facility root (same external and internal ids), then the emptied group is deleted (without
    `recursive`, so a delete that would take a child along fails instead). The next run places every moved
    asset under its parent of this layout (it rewrites every asset: the state was re-read), so the
    facility is where they wait between `migrate` and that run."""

    keys: tuple[str, ...]
    why: str


Move = RewriteMetadata | RenameAssets | RetireSeries | RescaleSeries | Reread | Ungroup

MOVES: tuple[Move, ...] = (
    RewriteMetadata(
        "metadata keys follow one rule, lowerCamelCase; the Plex id is `sourceId`",
        renamed={"plex_id": SOURCE_ID, "plex_resource": PLEX_RESOURCE, "plex_active": "plexActive"},
        raw_tables=(BOM_TABLE,),
    ),
    RenameAssets("workcenter", "workcenters are keyed by their code"),
    RenameAssets("part", "parts are keyed by number-revision"),
    RenameAssets("location", "locations are keyed by their code"),
    RetireSeries(
        "wc_scrap_quantity",
        "scrap names no unit: scrap is per workcenter and part (wc_part_scrap_quantity), no sum of units",
    ),
    RescaleSeries(
        "performance_current",
        "%",
        FRACTION,
        1 / PERCENT_PER_FRACTION,
        "OEE and its factors share one scale, fractions (1.0 = 100 %); round 1 wrote this one in %",
    ),
    Ungroup(
        (
            "buildings",
            "workcenters",
            "production_lines",
            "parts",
            "suppliers",
            "customers",
            "workcenter_statuses",
            "equipment",
        ),
        "the tree has the plant's shape: buildings under the facility, lines, workcenters and equipment"
        " under their building or line, parts, suppliers, customers and statuses under roots of their own",
    ),
    Reread(
        "events and series of the last first-run-reach are rewritten in the new shape (jobs: planned"
        " start to completion, one event per operation); every asset is placed in the new tree"
    ),
)
"""Round 1 (layout 1) -> layout 2. Other changes of this release add their rows here."""


# --- what CDF holds -----------------------------------------------------------------------------------


@dataclass
class Project:
    """The tenant's objects in CDF, as the API lists them (only `PCN{pcn}_` external ids)."""

    assets: list[Json] = field(default_factory=list)
    events: list[Json] = field(default_factory=list)
    timeseries: list[Json] = field(default_factory=list)
    relationships: list[Json] = field(default_factory=list)
    raw: dict[str, list[Json]] = field(default_factory=dict)  # table -> rows {key, columns}


# --- the plan -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One update: `kind` is assets, events, timeseries, relationships, raw or state."""

    kind: str
    target: str  # external id (or RAW table/key, or the PCN for state)
    what: str  # the line a dry run prints
    update: Json = field(default_factory=dict)  # the API's update item (by id or externalId)
    row: Json | None = None  # RAW: the rewritten row


@dataclass
class Plan:
    pcn: str
    changes: list[Change] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # old external id -> new

    def lines(self) -> list[str]:
        return [f"{c.kind} {c.target}: {c.what}" for c in self.changes]

    def counts(self) -> dict[str, int]:
        counted: dict[str, int] = defaultdict(int)
        for change in self.changes:
            counted[change.kind] += 1
        return dict(counted)


def plan(pcn: str, project: Project, state_layout: int | None, moves: Sequence[Move] = MOVES) -> Plan:
    """The changes that bring `project` (and the tenant's state, at `state_layout`) to this layout."""
    out = Plan(pcn)
    for move in moves:
        if isinstance(move, RenameAssets):
            out.renamed.update(_renames(pcn, project.assets, move.kind))
    metadata = next((m for m in moves if isinstance(m, RewriteMetadata)), None)
    retired = {m.kind: m for m in moves if isinstance(m, RetireSeries)}
    groups, moved = _ungrouped(pcn, project.assets, [m for m in moves if isinstance(m, Ungroup)])
    deleted = {group for group, _ in groups}
    for kind, objects in (("assets", project.assets), ("events", project.events)):
        for obj in objects:
            if obj.get("externalId") not in deleted:
                _object_change(out, kind, obj, metadata, {}, moved.get(obj.get("id")))
    for group, why in groups:
        out.changes.append(Change("delete", group, f"emptied group asset deleted: {why}"))
    rescaled = [m for m in moves if isinstance(m, RescaleSeries)]
    for series in project.timeseries:
        _object_change(out, "timeseries", series, metadata, _retirement(pcn, series, retired))
        for move in rescaled:
            xid = str(series.get("externalId", ""))
            if xid.startswith(external_id(pcn, move.kind, "")) and series.get("unit") == move.old_unit:
                what = f"datapoints x {move.factor:g}, unit {move.old_unit} -> {move.unit}: {move.why}"
                update = {"id": series["id"], "update": {"unit": {"set": move.unit}}}
                out.changes.append(Change("datapoints", xid, what, update, row={"factor": move.factor}))
    for relationship in project.relationships:
        _relationship_change(out, relationship)
    if metadata is not None:
        for table in metadata.raw_tables:
            for row in project.raw.get(table, []):
                _raw_change(out, table, row, metadata)
    reread = next((m for m in moves if isinstance(m, Reread)), None)
    # A state from before the layout was kept (round 1) counts as layout 1 when CDF shows an old layout.
    behind = state_layout < LAYOUT if state_layout is not None else bool(out.changes)
    if reread is not None and behind:
        out.changes.append(Change("state", pcn, f"forget watermarks and hashes: {reread.why}"))
    return out


def _ungrouped(
    pcn: str, assets: Sequence[Json], moves: Sequence[Ungroup]
) -> tuple[list[tuple[str, str]], dict[Any, tuple[Any, str]]]:
    """The group assets to delete (external id, why) and the children to move first: internal id ->
    (the facility root's internal id, what the dry run says). Nothing when the project has no facility
    root (nothing of this tenant's tree to move)."""
    ids = {str(a.get("externalId")): a.get("id") for a in assets}
    root = root_external_id(pcn)
    if root not in ids:
        return [], {}
    groups = {
        ids[external_id(pcn, "group", key)]: (external_id(pcn, "group", key), move.why)
        for move in moves
        for key in move.keys
        if external_id(pcn, "group", key) in ids
    }
    moved = {
        a.get("id"): (ids[root], f"parent {groups[a.get('parentId')][0]} -> {root} (the next run places it)")
        for a in assets
        if a.get("parentId") in groups
    }
    return list(groups.values()), moved


def _renames(pcn: str, assets: Iterable[Json], kind: str) -> dict[str, str]:
    """Old external id -> readable one for the kind's assets. Active assets are keyed together (as the
    run keys Plex's list); an inactive one keeps its id when its code is now another asset's."""
    spec = READABLE[kind]
    prefix = external_id(pcn, kind, "")
    mine = [
        a for a in assets if _written_by(a, spec.list) and str(a.get("externalId", "")).startswith(prefix)
    ]
    active = [a for a in mine if _metadata(a).get("plexActive", _metadata(a).get("plex_active")) != "false"]
    renames: dict[str, str] = {}
    taken: set[str] = set()
    for group in (active, [a for a in mine if a not in active]):
        keys = readable_keys({_plex_id(a): spec.shown(_metadata(a)) for a in group if _plex_id(a)})
        for asset in group:
            new = external_id(pcn, kind, keys.get(_plex_id(asset).lower(), "")) if _plex_id(asset) else ""
            if not new or new in taken:
                continue
            taken.add(new)
            if new != asset["externalId"]:
                renames[str(asset["externalId"])] = new
    return renames


def _metadata(obj: Json) -> dict[str, Any]:
    return dict(obj.get("metadata") or {})


def _plex_id(obj: Json) -> str:
    metadata = _metadata(obj)
    return str(metadata.get(SOURCE_ID) or metadata.get("plex_id") or "")


def _written_by(obj: Json, resource: str) -> bool:
    metadata = _metadata(obj)
    return (metadata.get(PLEX_RESOURCE) or metadata.get("plex_resource")) == resource


def _restyled(metadata: Mapping[str, Any], move: RewriteMetadata) -> dict[str, Any]:
    """The keys in the one style; on two old keys meeting in one new key, the one already in the style
    wins (what this plex-cdf wrote last)."""
    out: dict[str, Any] = {}
    for key, value in sorted(metadata.items(), key=lambda kv: META_KEY_RULE.match(kv[0]) is not None):
        out[move.renamed.get(key) or meta_key(key)] = value
    return out


def _retirement(pcn: str, series: Json, retired: Mapping[str, RetireSeries]) -> dict[str, str]:
    xid = str(series.get("externalId", ""))
    for kind, move in retired.items():
        if xid.startswith(external_id(pcn, kind, "")):
            return {"plexRetired": "true", "plexRetiredWhy": move.why}
    return {}


def _object_change(
    out: Plan,
    kind: str,
    obj: Json,
    move: RewriteMetadata | None,
    extra: Mapping[str, str],
    parent: tuple[Any, str] | None = None,
) -> None:
    xid = str(obj["externalId"])
    update: Json = {}
    notes: list[str] = []
    new_xid = out.renamed.get(xid)
    if new_xid:
        update["externalId"] = {"set": new_xid}
        notes.append(f"external id -> {new_xid}")
    metadata = _metadata(obj)
    restyled = _restyled(metadata, move) if move else dict(metadata)
    restyled.update(extra)
    if restyled != metadata:
        update["metadata"] = {"set": restyled}
        changed = sorted(set(metadata) ^ set(restyled))
        notes.append("metadata keys " + ", ".join(changed[:6]) + (" ..." if len(changed) > 6 else ""))
    if parent is not None:
        update["parentId"] = {"set": parent[0]}
        notes.append(parent[1])
    if update:
        out.changes.append(Change(kind, xid, "; ".join(notes), {"id": obj["id"], "update": update}))


def _relationship_change(out: Plan, relationship: Json) -> None:
    update: Json = {}
    for end in ("sourceExternalId", "targetExternalId"):
        new = out.renamed.get(str(relationship.get(end)))
        if new:
            update[end] = {"set": new}
    if update:
        xid = str(relationship["externalId"])
        what = "; ".join(f"{k} -> {v['set']}" for k, v in update.items())
        out.changes.append(Change("relationships", xid, what, {"externalId": xid, "update": update}))


def _raw_change(out: Plan, table: str, row: Json, move: RewriteMetadata) -> None:
    columns = dict(row.get("columns") or {})
    restyled = _restyled(columns, move)
    for end in ("sourceExternalId", "targetExternalId"):
        if isinstance(restyled.get(end), str) and restyled[end] in out.renamed:
            restyled[end] = out.renamed[restyled[end]]
    if restyled != columns:
        key = str(row["key"])
        change = Change(
            "raw", f"{table}/{key}", "columns restyled and relinked", row={"key": key, "columns": restyled}
        )
        out.changes.append(change)


# --- reading and applying -------------------------------------------------------------------------------


async def read_project(client: Any, pcn: str, data_set_ids: Sequence[int], raw_database: str) -> Project:
    """The tenant's objects: assets, events and series by external-id prefix, relationships of the data
    sets, and the RAW tables the moves rewrite."""
    prefix = f"PCN{pcn}_"
    project = Project()
    for attr, api in (
        ("assets", client.assets),
        ("events", client.events),
        ("timeseries", client.time_series),
    ):
        found = await api.list(external_id_prefix=prefix, limit=None)
        setattr(project, attr, [o.dump(camel_case=True) for o in found])
    if data_set_ids:
        links = await client.relationships.list(data_set_ids=list(data_set_ids), limit=None)
        project.relationships = [
            r.dump(camel_case=True) for r in links if str(r.external_id).startswith(prefix)
        ]
    databases = {db.name for db in await client.raw.databases.list(limit=None)}
    if raw_database in databases:
        tables = {t.name for t in await client.raw.tables.list(raw_database, limit=None)}
        for table in {t for m in MOVES if isinstance(m, RewriteMetadata) for t in m.raw_tables} & tables:
            rows = await client.raw.rows.list(raw_database, table, limit=None)
            project.raw[table] = [{"key": r.key, "columns": dict(r.columns or {})} for r in rows]
    return project


def state_layout(state: StateStore, pcn: str) -> int | None:
    """The layout the tenant's state was migrated to; None when never migrated (round 1 kept none)."""
    kept = state.get_value(pcn, LAYOUT_KEY)
    return int(kept) if kept is not None else None


async def apply(client: Any, the_plan: Plan, state: StateStore, raw_database: str) -> None:
    """Send the plan's updates (assets first: relationships name the new ids; emptied groups deleted once
    their children moved), then the state."""
    api = _Api(client)
    for change in the_plan.changes:
        if change.kind == "datapoints" and change.row is not None:
            await _rescale(client, change.target, float(change.row["factor"]))
            await api.post("/timeseries/update", {"items": [change.update]})
    for kind, path in (("assets", "/assets"), ("events", "/events"), ("timeseries", "/timeseries")):
        updates = [c.update for c in the_plan.changes if c.kind == kind]
        for start in range(0, len(updates), ITEMS_PER_CALL):
            await api.post(f"{path}/update", {"items": updates[start : start + ITEMS_PER_CALL]})
    emptied = [{"externalId": c.target} for c in the_plan.changes if c.kind == "delete"]
    for start in range(0, len(emptied), ITEMS_PER_CALL):  # after the moves: no child left under them
        await api.post("/assets/delete", {"items": emptied[start : start + ITEMS_PER_CALL]})
    relinks = [c.update for c in the_plan.changes if c.kind == "relationships"]
    for start in range(0, len(relinks), ITEMS_PER_CALL):
        await api.post("/relationships/update", {"items": relinks[start : start + ITEMS_PER_CALL]})
    by_table: dict[str, list[Json]] = defaultdict(list)
    for change in the_plan.changes:
        if change.kind == "raw" and change.row is not None:
            by_table[change.target.split("/", 1)[0]].append(change.row)
    for table, rows in by_table.items():
        await client.raw.rows.insert(raw_database, table, {r["key"]: r["columns"] for r in rows})
    if any(c.kind == "state" for c in the_plan.changes):
        state.forget_tenant(the_plan.pcn)
    state.set_value(the_plan.pcn, LAYOUT_KEY, LAYOUT)


async def _rescale(client: Any, external_id: str, factor: float) -> None:
    """Every datapoint of the series times `factor`, written back at its timestamp (an insert at an
    existing timestamp replaces the value); the caller sets the unit right after. A migrate killed between
    the two would rescale that one series twice on its next run (docs/upgrade-notes.md says to check it
    with --dry-run first)."""
    points = await client.time_series.data.retrieve(external_id=external_id, start=0, end="now", limit=None)
    pairs = [(int(t), float(v) * factor) for t, v in zip(points.timestamp, points.value, strict=True)]
    if pairs:
        await client.time_series.data.insert(pairs, external_id=external_id)


class _Api:
    def __init__(self, client: Any) -> None:
        self._api = SdkApi(client)

    async def post(self, path: str, body: Json) -> Json:
        return await self._api.post(path, body)


def layout_problem(state: StateStore, pcn: str, resources: Iterable[str], *, record: bool) -> str | None:
    """Why this plex-cdf must not write for the tenant yet, or None. A state holding watermarks but no
    layout was written by round 1: its CDF objects carry the old ids, so a run would write the renamed ones
    beside them (duplicates); `plex-cdf migrate` first. A fresh state is marked with this layout
    (`record`), so a later release's migrate knows where it starts."""
    kept = state.get_value(pcn, LAYOUT_KEY)
    if kept is not None and int(kept) >= LAYOUT:
        return None
    if kept is None and not any(state.get_watermark(pcn, name) for name in resources):
        if record:
            state.set_value(pcn, LAYOUT_KEY, LAYOUT)
        return None
    return (
        f"PCN {pcn}: CDF holds what an earlier plex-cdf wrote (layout {kept or 1}, this one writes {LAYOUT});"
        " run `plex-cdf migrate --dry-run` to see the changes, then `plex-cdf migrate`"
        " (docs/upgrade-notes.md)"
    )


async def migrate_tenant(
    client: Any, state: StateStore, pcn: str, data_set_ids: Sequence[int], raw_database: str, *, dry_run: bool
) -> Plan:
    """Plan (and unless `dry_run`, apply) the moves for one tenant of the classic target."""
    project = await read_project(client, pcn, data_set_ids, raw_database)
    written = layout_problem(state, pcn, [r.name for r in ALL], record=False) is not None
    the_plan = plan(pcn, project, state_layout(state, pcn) or (1 if written else None))
    if not dry_run:
        await apply(client, the_plan, state, raw_database)
    return the_plan
