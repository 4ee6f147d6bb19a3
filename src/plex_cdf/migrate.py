"""`plex-cdf migrate`: bring a CDF project written by an earlier plex-cdf to what this one writes.

The upgrade is data: `MOVES` lists what changed between layouts, one row per change, and `plan` turns the
rows and what CDF holds now into the exact updates (a dry run prints them, nothing else). Objects keep
their internal ids where CDF allows: external ids are renamed in place (CDF updates an external id by
internal id), so datapoints, event links and parents stay; relationships and RAW rows that name a renamed
asset by its external id are rewritten. CDF moves no asset to another root, so the assets that now hang
under a root of their own (`Reroot`: parts, suppliers, customers, statuses) are recreated there under new
internal ids, what pointed at the old ones re-pointed, the old ones deleted. A series no longer written is
flagged `plexRetired`, its datapoints kept. New event shapes (jobs) and the plant-shaped tree are written
by the first run after the state's re-read (`Reread`); docs/upgrade-notes.md says what each release
moves.

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
from plex_cdf.domains.master_data import BOM_TABLE, OWN_ROOTS, group_external_id, own_root_external_id
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


@dataclass(frozen=True)
class Reroot:
    """Round 1's grouping assets `PCN{pcn}_group_{key}` whose assets now hang under a root of their own,
    `PCN{pcn}_root_{key}`. CDF refuses to move an asset to another root ("Asset must stay within same asset
    hierarchy"), so each asset of the group's subtree is recreated, parents first:

    1. the own root is created when missing (the next run fills in its name and metadata);
    2. the old asset gives up its external id: renamed by internal id to `PCN{pcn}_migrating_{rest}`
       (`rest`: its new external id after `PCN{pcn}_`), its old external id kept in metadata `MOVED_FROM`;
    3. a new asset with the new external id, a copy of the old one's fields (metadata in the new style),
       under the own root or its recreated parent;
    4. series (`assetId`) and events (`assetIds`) that pointed at the old internal id point at the new one
       (datapoints stay: series are not recreated); relationships and RAW rows name it by external id;
    5. the old assets are deleted, deepest first, then the emptied group (never `recursive`: an asset of
       another writer under them stops the delete instead of going with it).

    Each step is read back from CDF, so a migrate stopped midway is finished by the next one (the
    `migrating` ids and `MOVED_FROM` tell it where it stopped) and a finished one plans nothing."""

    keys: tuple[str, ...]
    why: str


MOVED_FROM = "plexMigratingFrom"
"""Metadata of an asset waiting to be deleted by migrate: its external id before the temporary one."""
MIGRATING = "migrating"
"""The kind in the temporary external id `PCN{pcn}_migrating_{rest}` of an asset migrate recreates."""


Move = RewriteMetadata | RenameAssets | RetireSeries | RescaleSeries | Reread | Ungroup | Reroot

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
            "equipment",
        ),
        "the tree has the plant's shape: buildings under the facility, lines, workcenters and equipment"
        " under their building or line",
    ),
    Reroot(
        tuple(key for key, _ in OWN_ROOTS),
        "parts, suppliers, customers and workcenter statuses are no places in the plant: they hang under"
        " roots of their own, and CDF keeps an asset in its root, so they are recreated there",
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
    rerooted = [_rerooted(pcn, project, out.renamed, metadata, m) for m in moves if isinstance(m, Reroot)]
    recreated = {str(a["externalId"]) for r in rerooted for a in r.subtree}
    deleted = {group for group, _ in groups} | {g for r in rerooted for g, _ in r.groups}
    for kind, objects in (("assets", project.assets), ("events", project.events)):
        for obj in objects:
            if obj.get("externalId") not in deleted | recreated:
                _object_change(out, kind, obj, metadata, {}, moved.get(obj.get("id")))
    for reroot in rerooted:
        out.renamed.update(reroot.renamed)
        out.changes.extend(reroot.changes)
    for group, why in groups + [g for r in rerooted for g in r.groups]:
        out.changes.append(
            Change(
                "delete", group, f"emptied group asset deleted: {why}", {"externalId": group}, {"depth": 0}
            )
        )
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


@dataclass
class _Rerooted:
    """What one `Reroot` row plans: the group subtree's assets (old, to recreate), their changes in apply
    order, the old -> new external ids (for relationships and RAW rows) and the emptied groups."""

    subtree: list[Json] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    groups: list[tuple[str, str]] = field(default_factory=list)


def _rerooted(
    pcn: str, project: Project, renamed: Mapping[str, str], restyle: RewriteMetadata | None, move: Reroot
) -> _Rerooted:
    out = _Rerooted()
    by_xid = {str(a.get("externalId")): a for a in project.assets}
    children: dict[Any, list[Json]] = defaultdict(list)
    for asset in project.assets:
        children[asset.get("parentId")].append(asset)
    deletes: list[Change] = []
    for key in move.keys:
        group, root = group_external_id(pcn, key), own_root_external_id(pcn, key)
        if group not in by_xid:
            continue
        out.groups.append((group, move.why))
        level = [(a, root) for a in children[by_xid[group]["id"]]]  # (asset, its new parent), by depth
        if level and root not in by_xid:
            body = {"externalId": root, "name": dict(OWN_ROOTS)[key]}
            body.update({"dataSetId": by_xid[group]["dataSetId"]} if by_xid[group].get("dataSetId") else {})
            out.changes.append(
                Change("create", root, "own root created (the next run fills it in)", row=body)
            )
        depth = 0
        while level:
            depth += 1
            below: list[tuple[Json, str]] = []
            for asset, parent in level:
                new = _recreate(pcn, out, asset, parent, root, by_xid, renamed, restyle, move.why)
                out.changes.extend(_relinks(project, asset["id"], new))
                what = f"old asset (internal id {asset['id']}) deleted: recreated under {parent}"
                deletes.append(Change("delete", new, what, {"id": asset["id"]}, {"depth": depth}))
                below.extend((child, new) for child in children[asset["id"]])
            level = below
    out.changes.extend(sorted(deletes, key=lambda c: -int((c.row or {})["depth"])))  # deepest first
    return out


def _recreate(
    pcn: str,
    out: _Rerooted,
    asset: Json,
    parent: str,
    root: str,
    by_xid: Mapping[str, Json],
    renamed: Mapping[str, str],
    restyle: RewriteMetadata | None,
    why: str,
) -> str:
    """Plan one old asset's temporary id (unless it has one) and its copy (unless made); its new id."""
    temporary = external_id(pcn, MIGRATING, "")
    xid = str(asset["externalId"])
    waiting = xid.startswith(temporary)  # a migrate stopped midway renamed it already
    new = f"PCN{pcn}_" + xid.removeprefix(temporary) if waiting else renamed.get(xid, xid)
    old = str(_metadata(asset).get(MOVED_FROM, xid))
    out.subtree.append(asset)
    if old != new:
        out.renamed[old] = new
    if not waiting:
        hold = external_id(pcn, MIGRATING, new.removeprefix(f"PCN{pcn}_"))
        update = {"externalId": {"set": hold}, "metadata": {"add": {MOVED_FROM: xid}}}
        what = f"external id -> {hold} (gives {new} up to its copy under {root})"
        out.changes.append(Change("assets", xid, what, {"id": asset["id"], "update": update}))
    if by_xid.get(new, asset) is asset:  # not yet recreated (the old one may still hold the id)
        row = _copy(asset, new, parent, restyle)
        out.changes.append(Change("create", new, f"recreated under {parent}: {why}", row=row))
    return new


def _copy(asset: Json, xid: str, parent: str, restyle: RewriteMetadata | None) -> Json:
    """The new asset: the old one's fields under its new external id and parent, metadata restyled."""
    metadata = {k: v for k, v in _metadata(asset).items() if k != MOVED_FROM}
    body: Json = {"externalId": xid, "parentExternalId": parent, "name": asset.get("name") or xid}
    body.update({k: asset[k] for k in ("description", "source", "dataSetId", "labels") if asset.get(k)})
    if metadata:
        body["metadata"] = _restyled(metadata, restyle) if restyle else metadata
    return body


def _relinks(project: Project, old_id: Any, new: str) -> list[Change]:
    """Series (`assetId`) and events (`assetIds`) that point at the old asset's internal id: pointed at
    the new one's."""
    pointing = (
        ("timeseries", "assetId", [s for s in project.timeseries if s.get("assetId") == old_id]),
        ("events", "assetIds", [e for e in project.events if old_id in (e.get("assetIds") or ())]),
    )
    return [
        Change(
            "relink",
            str(o["externalId"]),
            f"{key}: {new} for the old asset",
            row={"api": api, "id": o["id"], "from": old_id, "to": new},
        )
        for api, key, objects in pointing
        for o in objects
    ]


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
    """Send the plan in the order each step needs: datapoints rescaled; updates (assets first: renames,
    moves, the temporary ids that free an external id); recreated assets (parents first); series and
    events re-pointed; relationships and RAW rows (they name the new ids); then the deletes, deepest
    first (old assets, then emptied groups); the state last."""
    api = _Api(client)
    for change in the_plan.changes:
        if change.kind == "datapoints" and change.row is not None:
            await _rescale(client, change.target, float(change.row["factor"]))
            await api.post("/timeseries/update", {"items": [change.update]})
    for kind, path in (("assets", "/assets"), ("events", "/events"), ("timeseries", "/timeseries")):
        await _in_batches(api, f"{path}/update", [c.update for c in the_plan.changes if c.kind == kind])
    await _in_batches(api, "/assets", [c.row for c in the_plan.changes if c.kind == "create" and c.row])
    await _relink(api, [c.row for c in the_plan.changes if c.kind == "relink" and c.row])
    relinks = [c.update for c in the_plan.changes if c.kind == "relationships"]
    await _in_batches(api, "/relationships/update", relinks)
    by_table: dict[str, list[Json]] = defaultdict(list)
    for change in the_plan.changes:
        if change.kind == "raw" and change.row is not None:
            by_table[change.target.split("/", 1)[0]].append(change.row)
    for table, rows in by_table.items():
        await client.raw.rows.insert(raw_database, table, {r["key"]: r["columns"] for r in rows})
    deletes: dict[int, list[Json]] = defaultdict(list)
    for change in the_plan.changes:
        if change.kind == "delete":
            deletes[int((change.row or {}).get("depth", 0))].append(change.update)
    for depth in sorted(deletes, reverse=True):  # a level's children are gone before it goes
        await _in_batches(api, "/assets/delete", deletes[depth])
    if any(c.kind == "state" for c in the_plan.changes):
        state.forget_tenant(the_plan.pcn)
    state.set_value(the_plan.pcn, LAYOUT_KEY, LAYOUT)


async def _in_batches(api: _Api, path: str, items: Sequence[Json]) -> None:
    for start in range(0, len(items), ITEMS_PER_CALL):
        await api.post(path, {"items": list(items[start : start + ITEMS_PER_CALL])})


async def _relink(api: _Api, rows: Sequence[Json]) -> None:
    """Series and events from the old assets' internal ids to the new ones' (looked up by external id:
    the new assets may come from this migrate or from one stopped before)."""
    if not rows:
        return
    wanted = sorted({str(r["to"]) for r in rows})
    new_ids: dict[str, Any] = {}
    for start in range(0, len(wanted), ITEMS_PER_CALL):
        body = {"items": [{"externalId": x} for x in wanted[start : start + ITEMS_PER_CALL]]}
        found = await api.post("/assets/byids", body)
        new_ids.update({a["externalId"]: a["id"] for a in found.get("items", [])})
    series = {r["id"]: new_ids[r["to"]] for r in rows if r["api"] == "timeseries"}
    updates = [{"id": i, "update": {"assetId": {"set": new}}} for i, new in series.items()]
    await _in_batches(api, "/timeseries/update", updates)
    events: dict[Any, tuple[list[Any], list[Any]]] = defaultdict(lambda: ([], []))
    for row in (r for r in rows if r["api"] == "events"):
        events[row["id"]][0].append(new_ids[row["to"]])
        events[row["id"]][1].append(row["from"])
    changed = [{"id": i, "update": {"assetIds": {"add": a, "remove": r}}} for i, (a, r) in events.items()]
    await _in_batches(api, "/events/update", changed)


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
