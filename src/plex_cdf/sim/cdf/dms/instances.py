"""Instances: apply (nodes and edges), byids, list, delete and aggregate, with CDM's side effects.

An apply is checked whole before anything changes (any error refuses the batch). Side effects as CDF:
CogniteAsset's root, path and pathLastUpdatedTime follow `parent` (a move re-paths the subtree); a node with
data in the CogniteTimeSeries container owns a time series addressable by instanceId in the datapoints API,
deleted with the node; deleting a node deletes the edges that start or end at it.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from plex_cdf.sim.cdf.dms import filters, values
from plex_cdf.sim.cdf.dms.model import (
    SYSTEM_SPACES,
    ContainerKey,
    DmsState,
    EdgeConnection,
    Instance,
    InstanceKey,
    Mapped,
    ViewKey,
    key_text,
    settle_heap,
)
from plex_cdf.sim.cdf.errors import CdfError, Json, bad_request
from plex_cdf.sim.cdf.keys import check_keys
from plex_cdf.sim.cdf.store import Store, now_ms

logger = logging.getLogger(__name__)
MAX_APPLY = 1000
MAX_LIST = 1000
DEFAULT_LIST = 1000
MAX_DELETE = 1000
MAX_SORT = 5
XID_MAX = 255
ASSET = ("cdf_cdm", "CogniteAsset")
TIME_SERIES = ("cdf_cdm", "CogniteTimeSeries")
MAINTAINED = {(ASSET, "root"), (ASSET, "path"), (ASSET, "pathLastUpdatedTime")}
MAX_DEPTH = 100
NODE_FIELDS = frozenset({"instanceType", "space", "externalId", "existingVersion", "type", "sources"})
EDGE_FIELDS = NODE_FIELDS | {"startNode", "endNode"}


@dataclass(slots=True)
class Write:
    """One checked item of an apply."""

    kind: str
    key: InstanceKey
    existing_version: int | None
    type: Json | None
    start: Json | None
    end: Json | None
    data: dict[ContainerKey, dict[str, Any]]


# Apply ------------------------------------------------------------------------------------------------


def apply(store: Store, body: Json, *, system: bool = False) -> Json:
    state = store.dms
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise bad_request("items: must be a non-empty list")
    if len(items) > MAX_APPLY:
        raise bad_request(f"items: size must be between 1 and {MAX_APPLY}, got {len(items)}")
    options = {
        k: bool(body.get(k, d))
        for k, d in (
            ("autoCreateDirectRelations", True),
            ("autoCreateStartNodes", False),
            ("autoCreateEndNodes", False),
            ("skipOnVersionConflict", False),
            ("replace", False),
        )
    }
    unknown = set(body) - set(options) - {"items"}
    if unknown:
        raise bad_request(f"unknown field(s) {', '.join(sorted(unknown))}")
    writes: list[Write] = []
    seen: set[InstanceKey] = set()
    for index, item in enumerate(items):
        write = _check_item(state, item, index, system)
        if write.key in seen:
            raise bad_request(f"items[{index}]: instance {key_text(write.key)} appears more than once")
        seen.add(write.key)
        writes.append(write)
    writes, skipped = _version_check(state, writes, options["skipOnVersionConflict"])
    for write in writes:
        _check_required(state, write, options["replace"])
    creations = _references(state, writes, seen, options)
    _check_hierarchy(state, writes)
    answers: dict[InstanceKey, Json] = {}
    now = now_ms()
    for key in creations:
        inst = _commit(state, Write("node", key, None, None, None, None, {}), now, replace=False)
        if inst is not None:
            answers[key] = _answer(inst, True)
    moved: list[InstanceKey] = []
    replace = options["replace"]
    for write in writes:
        before = state.instances.get(write.key)
        hierarchy = ASSET in write.data
        old_parent = _parent(before) if hierarchy else None
        version = before.version if before else 0
        inst = _commit(state, write, now, replace)
        assert inst is not None
        answers[write.key] = _answer(inst, inst.version != version)
        if hierarchy and (before is None or _parent(inst) != old_parent or ASSET not in before.data):
            moved.append(inst.key)
        if TIME_SERIES in inst.data:
            _sync_time_series(store, inst)
    _repath(state, moved, now)
    settle_heap(state)
    del skipped  # CDF leaves items skipped on a version conflict out of the answer
    return {"items": [answers[w.key] for w in writes]}


def _check_item(state: DmsState, item: Any, index: int, system: bool) -> Write:
    """One item checked into a Write; errors name it as items[index] (the text is built only then)."""
    if type(item) is not dict:
        raise bad_request(f"items[{index}]: expected an object")
    kind = item.get("instanceType")
    if kind != "node" and kind != "edge":
        raise bad_request(f"items[{index}].instanceType: must be node or edge")
    if not item.keys() <= (NODE_FIELDS if kind == "node" else EDGE_FIELDS):
        unknown = set(item) - (NODE_FIELDS if kind == "node" else EDGE_FIELDS)
        raise bad_request(f"items[{index}]: unknown field(s) {', '.join(sorted(unknown))}")
    key = _identity(item, index)
    if key[0] in SYSTEM_SPACES and not system:
        raise bad_request(f"items[{index}].space: {key[0]!r} is a system space and cannot be written to")
    if key[0] not in state.spaces:
        raise bad_request(f"items[{index}].space: space {key[0]!r} does not exist")
    version = item.get("existingVersion")
    if version is not None and (type(version) is not int or version < 0):
        raise bad_request(f"items[{index}].existingVersion: expected a non-negative integer")
    other = state.instances.get(key)
    if other is not None and other.kind != kind:
        raise bad_request(f"items[{index}]: {key_text(key)} exists as an {other.kind}, not an {kind}")
    raw_type = item.get("type")
    type_ref = None if raw_type is None else values.direct(raw_type, f"items[{index}].type")
    start = end = None
    if kind == "edge":
        if type_ref is None:
            raise bad_request(f"items[{index}].type: an edge needs a type")
        start = values.direct(item.get("startNode"), f"items[{index}].startNode")
        end = values.direct(item.get("endNode"), f"items[{index}].endNode")
        if other is not None and (other.start != start or other.end != end or other.type != type_ref):
            raise bad_request(f"items[{index}]: an edge's type, startNode and endNode cannot change")
    write = Write(kind, key, version, type_ref, start, end, {})
    sources = item.get("sources")
    if sources:
        if type(sources) is not list:
            raise bad_request(f"items[{index}].sources: expected a list")
        for n, source in enumerate(sources):
            _check_source(state, write, source, index, n, system)
    return write


def _identity(item: Json, index: int) -> InstanceKey:
    space, xid = item.get("space"), item.get("externalId")
    if type(space) is not str or not space:
        raise bad_request(f"items[{index}].space: required")
    if type(xid) is not str or not 1 <= len(xid) <= XID_MAX or "\x00" in xid:
        raise bad_request(f"items[{index}].externalId: must be 1 to {XID_MAX} characters")
    return (space, xid)


@dataclass(frozen=True, slots=True)
class Target:
    """Where one source property is stored and how its value is checked."""

    container: ContainerKey
    prop: str
    check: Callable[[Any, str], Any]
    nullable: bool
    writable: str | None  # None, or why the property cannot be written


@dataclass(frozen=True, slots=True)
class ContainerPlan:
    defaults: dict[str, Any]
    required: tuple[str, ...]
    direct: frozenset[str]
    used_for: str


def container_plan(state: DmsState, ckey: ContainerKey) -> ContainerPlan:
    plan = state.container_plans.get(ckey)
    if plan is None:
        props = state.containers[ckey]["properties"]
        plan = ContainerPlan(
            {
                n: p["defaultValue"]
                for n, p in props.items()
                if p.get("defaultValue") is not None and (ckey, n) not in MAINTAINED
            },
            tuple(
                n for n, p in props.items() if not p.get("nullable", True) and p.get("defaultValue") is None
            ),
            frozenset(n for n, p in props.items() if p["type"]["type"] == "direct"),
            state.containers[ckey]["usedFor"],
        )
        state.container_plans[ckey] = plan
    return plan


@dataclass(frozen=True, slots=True)
class SourcePlan:
    """How a write through one view or container is checked and stored."""

    label: str
    targets: dict[str, Target]
    touched: tuple[tuple[ContainerKey, str], ...]  # (container, its usedFor) a write through it touches


def source_plan(state: DmsState, ref: Any, where: str) -> SourcePlan:
    """The plan of a view or container reference, built once per schema."""
    if type(ref) is dict:
        get = ref.get
        found = state.plans.get(("source", get("type"), get("space"), get("externalId"), get("version")))
        if found is not None:
            return found  # type: ignore[no-any-return]
    return _build_source_plan(state, ref, f"{where}.source")  # `where` names the source item


def _build_source_plan(state: DmsState, ref: Any, where: str) -> SourcePlan:
    if not isinstance(ref, dict):
        raise bad_request(f"{where}: expected a view or container reference")
    cache_key = ("source", ref.get("type"), ref.get("space"), ref.get("externalId"), ref.get("version"))
    if ref.get("type") == "container":
        ckey = (str(ref.get("space")), str(ref.get("externalId")))
        container = state.containers.get(ckey)
        if container is None:
            raise bad_request(f"{where}: container {key_text(ckey)} does not exist")
        specs = {
            n: Mapped(ckey, n, p["type"], p["nullable"], None, None)
            for n, p in container["properties"].items()
        }
        label = f"container {key_text(ckey)}"
        touched: tuple[ContainerKey, ...] = (ckey,)
    else:
        vkey = state.view_key(ref, where)
        if vkey not in state.views:
            raise bad_request(f"{where}: One or more views do not exist: {key_text(vkey)}")
        specs = state.resolved(vkey)  # type: ignore[assignment]
        label, touched = f"view {key_text(vkey)}", tuple(sorted(state.view_containers(vkey)))
    targets: dict[str, Target] = {}
    for name, spec in specs.items():
        if isinstance(spec, Mapped):
            why = (
                "maintained by CDF and cannot be written"
                if (spec.container, spec.prop) in MAINTAINED
                else None
            )
            targets[name] = Target(spec.container, spec.prop, values.checker(spec.type), spec.nullable, why)
        elif isinstance(spec, EdgeConnection):
            why = "an edge connection is not a property: write the edges as instances of their own"
            targets[name] = Target(("", ""), name, _never, True, why)
        else:
            targets[name] = Target(("", ""), name, _never, True, "reverse direct relations are read-only")
    plan = SourcePlan(label, targets, tuple((c, container_plan(state, c).used_for) for c in touched))
    state.plans[cache_key] = plan
    return plan


def _never(value: Any, where: str) -> Any:
    raise bad_request(f"{where}: cannot be written")


def _check_source(state: DmsState, write: Write, source: Any, index: int, n: int, system: bool) -> None:
    """Check items[index].sources[n] into `write.data`."""
    if type(source) is not dict:
        raise bad_request(f"items[{index}].sources[{n}]: expected {{source, properties}}")
    plan = source_plan(state, source.get("source"), f"items[{index}].sources[{n}]")
    props = source.get("properties") or {}
    if type(props) is not dict:
        raise bad_request(f"items[{index}].sources[{n}].properties: expected an object")
    data = write.data
    for ckey, used_for in plan.touched:
        if ckey not in data:
            if used_for != "all" and used_for != write.kind:
                raise bad_request(
                    f"items[{index}].sources[{n}]: container {key_text(ckey)} holds {used_for}s only"
                )
            data[ckey] = {}
    targets = plan.targets
    for name, value in props.items():
        target = targets.get(name)
        if target is None or (target.writable is not None and not system):
            why = f"{plan.label} has no property {name!r}" if target is None else target.writable
            raise bad_request(f"items[{index}].sources[{n}].properties.{name}: {why}")
        try:
            checked = target.check(value, "")
        except CdfError as error:  # the checkers name only the part below the property
            raise bad_request(f"items[{index}].sources[{n}].properties.{name}{error.message}") from None
        if checked is None and not target.nullable:
            raise bad_request(
                f"items[{index}].sources[{n}].properties.{name}: required property may not be null"
            )
        data[target.container][target.prop] = checked


def _version_check(state: DmsState, writes: list[Write], skip: bool) -> tuple[list[Write], list[Write]]:
    ok: list[Write] = []
    conflicts: list[Write] = []
    for write in writes:
        current = state.instances.get(write.key)
        wanted = write.existing_version
        if wanted is not None and (
            (current is None and wanted > 0) or (current is not None and current.version != wanted)
        ):
            conflicts.append(write)
        else:
            ok.append(write)
    if conflicts and not skip:
        logger.info(
            "version conflict: %s",
            ", ".join(
                f"{key_text(w.key)} (existingVersion {w.existing_version}, "
                f"current {state.instances[w.key].version if w.key in state.instances else 'none'})"
                for w in conflicts[:10]
            ),
        )
        # CDF's exact words (clients such as Cognite's .NET extractor utils compare the message as a whole)
        raise CdfError(409, "A version conflict caused the ingest to fail.")
    return ok, conflicts


def _check_required(state: DmsState, write: Write, replace: bool) -> None:
    current = state.instances.get(write.key)
    plans = state.container_plans
    for ckey, props in write.data.items():
        required = (plans.get(ckey) or container_plan(state, ckey)).required
        if not required:
            continue
        old = current.data.get(ckey) if current is not None and not replace else None
        for name in required:
            has = props.get(name) is not None or (old is not None and old.get(name) is not None)
            if not has:
                raise bad_request(
                    f"{key_text(write.key)}: missing required property {name!r} of container {key_text(ckey)}"
                )


def _references(
    state: DmsState, writes: list[Write], batch: set[InstanceKey], options: Mapping[str, bool]
) -> list[InstanceKey]:
    """Nodes to auto-create; 400 naming a target that neither exists nor may be created."""
    create: dict[InstanceKey, None] = {}

    def need(ref: Json | None, allowed: bool, what: str, owner: InstanceKey) -> None:
        if ref is None:
            return
        key = (ref["space"], ref["externalId"])
        if key in batch or key in state.instances:
            existing = state.instances.get(key)
            if existing is not None and existing.kind != "node":
                raise bad_request(f"{key_text(owner)}: {what} {key_text(key)} is an edge, not a node")
            return
        if not allowed:
            raise bad_request(f"{key_text(owner)}: {what} points to {key_text(key)}, which does not exist")
        if key[0] not in state.spaces:
            raise bad_request(f"{key_text(owner)}: {what} points into space {key[0]!r}, which does not exist")
        if state.is_system(key[0]):
            raise bad_request(
                f"{key_text(owner)}: {what} points to {key_text(key)}, which does not exist; nothing can be"
                f" created in system space {key[0]!r}"
            )
        create[key] = None

    direct_ok = options["autoCreateDirectRelations"]
    plans = state.container_plans
    for write in writes:
        if write.type is not None:
            need(write.type, direct_ok, "type", write.key)
        if write.kind == "edge":
            need(write.start, options["autoCreateStartNodes"], "startNode", write.key)
            need(write.end, options["autoCreateEndNodes"], "endNode", write.key)
        for ckey, props in write.data.items():
            direct = (plans.get(ckey) or container_plan(state, ckey)).direct
            if not direct:
                continue
            for name, value in props.items():
                if value is None or name not in direct:
                    continue
                for ref in value if isinstance(value, list) else [value]:
                    need(ref, direct_ok, f"direct relation {name}", write.key)
    return list(create)


def _parent(inst: Instance | None) -> Json | None:
    if inst is None:
        return None
    data = inst.data.get(ASSET)
    return None if data is None else data.get("parent")


def _check_hierarchy(state: DmsState, writes: list[Write]) -> None:
    """Refuse a parent change that would make an asset its own ancestor."""
    parents: dict[InstanceKey, InstanceKey | None] = {}
    for write in writes:
        if ASSET in write.data and "parent" in write.data[ASSET]:
            ref = write.data[ASSET]["parent"]
            parents[write.key] = (ref["space"], ref["externalId"]) if ref else None
    for start in parents:
        node: InstanceKey | None = start
        for _ in range(MAX_DEPTH + 1):
            node = parents[node] if node in parents else _key(_parent(state.instances.get(node)))  # type: ignore[arg-type]
            if node is None:
                break
            if node == start:
                raise bad_request(f"{key_text(start)}: parent would make the asset its own ancestor")
        else:
            raise bad_request(f"{key_text(start)}: asset hierarchy deeper than {MAX_DEPTH} levels")


def _key(ref: Json | None) -> InstanceKey | None:
    return None if ref is None else (ref["space"], ref["externalId"])


def _commit(state: DmsState, write: Write, now: int, replace: bool) -> Instance | None:
    inst = state.instances.get(write.key)
    if inst is None:
        tomb = state.tombstones.pop(write.key, None)
        inst = Instance(write.kind, write.key[0], write.key[1], state.next_seq(), now, updated=now)
        if tomb is not None:
            inst.version = tomb.version + 1
            state.changes.forget(tomb.change)
        inst.type, inst.start, inst.end = write.type, write.start, write.end
        state.instances[write.key] = inst
        state.order.add(inst.seq, inst)
        _put_data(state, inst, write, replace)
        state.touch(inst)
        return inst
    changed = False
    if write.type is not None and write.type != inst.type:
        inst.type, changed = write.type, True
    changed = _put_data(state, inst, write, replace) or changed
    if changed:
        inst.version += 1
        inst.updated = now
        state.touch(inst)
    return inst


def _put_data(state: DmsState, inst: Instance, write: Write, replace: bool) -> bool:
    changed = False
    stored = inst.data
    for ckey, props in write.data.items():
        old = stored.get(ckey)
        if old is None or replace:
            new = dict((state.container_plans.get(ckey) or container_plan(state, ckey)).defaults)
            if old is not None:
                new.update({k: v for k, v in old.items() if (ckey, k) in MAINTAINED})
        else:
            new = dict(old)
        new.update(props)
        if None in new.values():
            new = {k: v for k, v in new.items() if v is not None}
        if new != old:
            stored[ckey] = new
            changed = True
    return changed


def _answer(inst: Instance, modified: bool) -> Json:
    return {
        "instanceType": inst.kind,
        "space": inst.space,
        "externalId": inst.external_id,
        "version": inst.version,
        "wasModified": modified,
        "createdTime": inst.created,
        "lastUpdatedTime": inst.updated,
    }


# CogniteAsset hierarchy --------------------------------------------------------------------------------


def _repath(state: DmsState, moved: list[InstanceKey], now: int) -> None:
    """Recompute root, path and pathLastUpdatedTime for moved assets and everything below them."""
    if not moved:
        return
    children: dict[InstanceKey, list[InstanceKey]] = {}
    for inst in state.instances.values():
        parent = _key(_parent(inst))
        if parent is not None and ASSET in inst.data:
            children.setdefault(parent, []).append(inst.key)
    done: set[InstanceKey] = set()
    for key in moved:
        stack = [key]
        while stack:
            current = stack.pop()
            if current in done:
                continue
            done.add(current)
            _set_path(state, state.instances[current], now)
            stack.extend(children.get(current, ()))


def _set_path(state: DmsState, inst: Instance, now: int) -> None:
    chain = [inst.key]
    node: InstanceKey | None = _key(_parent(inst))
    while node is not None and node not in chain and len(chain) <= MAX_DEPTH:
        chain.append(node)
        node = _key(_parent(state.instances.get(node)))
    chain.reverse()
    path = [{"space": s, "externalId": x} for s, x in chain]
    data = inst.data[ASSET]
    if data.get("path") != path:
        data["path"] = path
        data["root"] = path[0]
        data["pathLastUpdatedTime"] = values.ms_timestamp(now)
        if inst.updated != now:  # a descendant the request did not write: its path change is a new version
            inst.version += 1
            inst.updated = now
        state.touch(inst)


# Time series owned by nodes -----------------------------------------------------------------------------


def _sync_time_series(store: Store, inst: Instance) -> None:
    data = inst.data[TIME_SERIES]
    kind = data.get("type", "numeric")
    described = inst.data.get(("cdf_cdm", "CogniteDescribable"), {})
    internal = store.dms.time_series.get(inst.key)
    now = now_ms()
    if internal is None:
        internal = store.next_id()
        store.dms.time_series[inst.key] = internal
        created = now
    else:
        created = store.time_series.items[internal]["createdTime"]
    item: Json = {
        "id": internal,
        "instanceId": {"space": inst.space, "externalId": inst.external_id},
        "isString": kind == "string",
        "isStep": bool(data.get("isStep", False)),
        "type": kind,
        "createdTime": created,
        "lastUpdatedTime": now,
        "metadata": {},
        "securityCategories": [],
    }
    for name in ("name", "description"):
        if described.get(name) is not None:
            item[name] = described[name]
    if data.get("sourceUnit") is not None:
        item["unit"] = data["sourceUnit"]
    if data.get("unit") is not None:
        item["unitExternalId"] = data["unit"]["externalId"]
    store.time_series.put(internal, item)


def series_for_instance(store: Store, ref: Any, where: str) -> int | None:
    """Internal id of the time series a CogniteTimeSeries node owns; None when there is none."""
    key = _key(values.direct(ref, where))
    return store.dms.time_series.get(key) if key is not None else None


# Delete -----------------------------------------------------------------------------------------------


def delete(store: Store, body: Json) -> Json:
    state = store.dms
    check_keys(body, {"items"})
    keys = _ids(body, MAX_DELETE)
    for index, (_kind, key) in enumerate(keys):
        if state.is_system(key[0]):
            raise bad_request(f"items[{index}]: {key_text(key)} is in a system space and cannot be deleted")
    doomed: dict[InstanceKey, None] = {}
    for kind, key in keys:
        inst = state.instances.get(key)
        if inst is not None and inst.kind == kind:
            doomed[key] = None
    nodes = {k for k in doomed if state.instances[k].kind == "node"}
    if nodes:
        for inst in state.instances.values():
            if inst.kind == "edge" and (_key(inst.start) in nodes or _key(inst.end) in nodes):
                doomed[inst.key] = None
    now = now_ms()
    for key in doomed:
        inst = state.instances.pop(key)
        state.order.forget(inst.seq)
        inst.deleted = now
        inst.version += 1
        inst.updated = now
        state.tombstones[key] = inst  # keeps its last data so a sync filter can still match it
        state.touch(inst)
        internal = state.time_series.pop(key, None)
        if internal is not None:
            store.time_series.remove(internal)
            store.datapoints.pop(internal, None)
    return {
        "items": [
            {"instanceType": kind, "space": k[0], "externalId": k[1]} for kind, k in keys if k in doomed
        ]
    }


def _ids(body: Json, maximum: int) -> list[tuple[str, InstanceKey]]:
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise bad_request("items: must be a non-empty list")
    if len(items) > maximum:
        raise bad_request(f"items: size must be between 1 and {maximum}, got {len(items)}")
    out = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise bad_request(f"items[{index}]: expected an object")
        kind = item.get("instanceType", "node")
        if kind not in ("node", "edge"):
            raise bad_request(f"items[{index}].instanceType: must be node or edge")
        out.append((kind, _identity(item, index)))
    return out


# Reading ----------------------------------------------------------------------------------------------


def sources_of(state: DmsState, raw: Any, where: str = "sources") -> list[tuple[ViewKey, list[str] | None]]:
    """`[{"source": view, "properties"?: [...]}]` -> [(view, wanted properties or None for all)]."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_request(f"{where}: expected a list")
    out: list[tuple[ViewKey, list[str] | None]] = []
    for n, item in enumerate(raw):
        if not isinstance(item, dict):
            raise bad_request(f"{where}[{n}]: expected {{source}}")
        vkey = state.view_key(item.get("source"), f"{where}[{n}].source")
        if vkey not in state.views:
            raise bad_request(f"{where}[{n}].source: One or more views do not exist: {key_text(vkey)}")
        wanted = item.get("properties")
        out.append((vkey, None if wanted is None or "*" in wanted else list(wanted)))
    return out


Renderer = Callable[[Instance], Json]
# Per container a view reads: None when the view reads the container's properties under their own names
# (the stored dict is answered as it is), else the (view property, container property) pairs it reads.
Reads = tuple[tuple[ContainerKey, tuple[tuple[str, str], ...] | None], ...]


def renderer(state: DmsState, sources: list[tuple[ViewKey, list[str] | None]]) -> Renderer:
    """Instances in CDF's read shape with the properties of `sources`; the view lookups done once.

    Stored property dicts may be answered without a copy: the app serializes an answer under the store
    lock, before any other request can change them.
    """
    plans = []
    for vkey, wanted in sources:
        reads = _reads(state, vkey, wanted)
        whole = reads[0][0] if len(reads) == 1 and reads[0][1] is None else None  # one dict, answered as is
        plans.append((vkey[0], f"{vkey[1]}/{vkey[2]}", reads, whole))

    def render(inst: Instance) -> Json:
        out: Json = {
            "instanceType": inst.kind,
            "space": inst.space,
            "externalId": inst.external_id,
            "version": inst.version,
            "createdTime": inst.created,
            "lastUpdatedTime": inst.updated,
        }
        if inst.type is not None:
            out["type"] = inst.type
        if inst.kind == "edge":
            out["startNode"], out["endNode"] = inst.start, inst.end
        props: Json = {}
        out["properties"] = props
        if inst.deleted is not None:
            out["deletedTime"] = inst.deleted
            return out
        data = inst.data
        for space, name, reads, whole in plans:
            found: Json | None = None
            if whole is not None:
                found = data.get(whole)
                reads = ()
            for ckey, pairs in reads:
                stored = data.get(ckey)
                if stored is None:
                    continue
                if found is None:
                    found = {}
                if pairs is None:
                    found.update(stored)
                    continue
                for prop_name, prop in pairs:
                    value = stored.get(prop)
                    if value is not None:
                        found[prop_name] = value
            if found is None:
                continue
            if space in props:
                props[space][name] = found
            else:
                props[space] = {name: found}
        return out

    return render


def _reads(state: DmsState, vkey: ViewKey, wanted: list[str] | None) -> Reads:
    """What a view (or the `wanted` properties of it) reads, per container."""
    cache_key = ("reads", vkey, None if wanted is None else tuple(wanted))
    reads: Reads | None = state.plans.get(cache_key)
    if reads is None:
        grouped: dict[ContainerKey, list[tuple[str, str]]] = {}
        for name, p in state.resolved(vkey).items():
            if isinstance(p, Mapped):
                picked = grouped.setdefault(p.container, [])
                if wanted is None or name in wanted:
                    picked.append((name, p.prop))
        reads = tuple(
            (ckey, None if _same_names(state, ckey, pairs) else tuple(pairs))
            for ckey, pairs in grouped.items()
        )
        state.plans[cache_key] = reads
    return reads


def _same_names(state: DmsState, ckey: ContainerKey, pairs: list[tuple[str, str]]) -> bool:
    """Whether `pairs` read every property of the container, each under its own name."""
    names = set(state.containers[ckey]["properties"])
    return all(a == b for a, b in pairs) and {b for _a, b in pairs} == names and len(pairs) == len(names)


def typing(state: DmsState, sources: list[tuple[ViewKey, list[str] | None]]) -> Json:
    out: Json = {}
    for vkey, _wanted in sources:
        entry = out.setdefault(vkey[0], {}).setdefault(f"{vkey[1]}/{vkey[2]}", {})
        for name, spec in state.resolved(vkey).items():
            if isinstance(spec, Mapped):
                cprop = state.containers[spec.container]["properties"][spec.prop]
                entry[name] = {
                    "type": cprop["type"],
                    "nullable": cprop["nullable"],
                    "autoIncrement": cprop["autoIncrement"],
                    "immutable": cprop.get("immutable", False),
                }
    return out


def by_ids(store: Store, body: Json) -> Json:
    state = store.dms
    check_keys(body, {"items", "sources", "includeTyping"})
    keys = _ids(body, MAX_LIST)
    sources = sources_of(state, body.get("sources"))
    render = renderer(state, sources)
    found = []
    for kind, key in keys:
        inst = state.instances.get(key)
        if inst is not None and inst.kind == kind:
            found.append(render(inst))
    answer: Json = {"items": found}
    if body.get("includeTyping"):
        answer["typing"] = typing(state, sources)
    return answer


def limit_of(raw: Any, default: int = DEFAULT_LIST, maximum: int = MAX_LIST, where: str = "limit") -> int:
    limit = default if raw is None else raw
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise bad_request(f"{where}: must be between 1 and {maximum}, got {raw!r}")
    return limit


def encode_cursor(tag: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{tag}:{value}".encode()).decode()


def decode_cursor(raw: Any, tag: str, where: str = "cursor") -> int:
    try:
        found, value = base64.urlsafe_b64decode(str(raw).encode()).decode().split(":", 1)
        if found != tag:
            raise ValueError(found)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"{where}: {str(raw)[:40]!r} is not a cursor for this request") from exc


def select(
    state: DmsState,
    kind: str,
    predicate: filters.Predicate,
    sort: Any,
    limit: int,
    cursor: Any,
    resolver: filters.Resolver,
    candidates: Iterable[Instance] | None = None,
) -> tuple[list[Instance], str | None]:
    """One page of live instances of `kind` matching `predicate`, in creation or sort order."""
    if sort:
        keys = _sort_keys(resolver, sort)
        pool = candidates if candidates is not None else state.instances.values()
        matched = [i for i in pool if i.kind == kind and predicate(i)]
        for key, reverse in reversed(keys):
            matched.sort(key=key, reverse=reverse)
        start = decode_cursor(cursor, "o") if cursor else 0
        page = matched[start : start + limit]
        more = start + limit < len(matched)
        return page, encode_cursor("o", start + limit) if more else None
    after = decode_cursor(cursor, "s") if cursor else 0
    out: list[Instance] = []
    last = after
    if candidates is not None:
        ordered = sorted((i for i in candidates if i.seq > after), key=lambda i: i.seq)
        walk: Iterable[Instance] = ordered
    else:
        walk = state.order.after(after)
    for inst in walk:
        if inst.kind == kind and predicate(inst):
            if len(out) == limit:
                return out, encode_cursor("s", last)
            out.append(inst)
            last = inst.seq
    return out, None


def _sort_keys(resolver: filters.Resolver, sort: Any) -> list[tuple[Any, bool]]:
    if not isinstance(sort, list) or len(sort) > MAX_SORT:
        raise bad_request(f"sort: expected a list of at most {MAX_SORT} sort specifications")
    keys = []
    for n, spec in enumerate(sort):
        if not isinstance(spec, dict):
            raise bad_request(f"sort[{n}]: expected an object")
        get, _ = resolver.getter(spec.get("property"), f"sort[{n}].property")
        direction = spec.get("direction", "ascending")
        if direction not in ("ascending", "descending"):
            raise bad_request(f"sort[{n}].direction: must be ascending or descending")
        keys.append(
            (filters.sort_key(get, direction, bool(spec.get("nullsFirst", False))), direction == "descending")
        )
    return keys


def list_instances(store: Store, body: Json) -> Json:
    state = store.dms
    allowed = {"instanceType", "sources", "filter", "sort", "limit", "cursor", "includeTyping"}
    unknown = set(body) - allowed
    if unknown:
        raise bad_request(f"not supported by the local CDF: {', '.join(sorted(unknown))}")
    kind = body.get("instanceType", "node")
    if kind not in ("node", "edge"):
        raise bad_request("instanceType: must be node or edge")
    sources = sources_of(state, body.get("sources"))
    resolver = filters.Resolver(state)
    predicate = filters.compile_filter(resolver, body.get("filter"))
    limit = limit_of(body.get("limit"), maximum=MAX_LIST)
    page, cursor = select(state, kind, predicate, body.get("sort"), limit, body.get("cursor"), resolver)
    render = renderer(state, sources)
    answer: Json = {"items": [render(i) for i in page], "nextCursor": cursor}
    if body.get("includeTyping"):
        answer["typing"] = typing(state, sources)
    return answer


# Aggregate --------------------------------------------------------------------------------------------

METRICS = ("count", "sum", "avg", "min", "max")


def aggregate(store: Store, body: Json) -> Json:
    state = store.dms
    if body.get("query"):
        raise bad_request("not supported by the local CDF: query (full-text search) in aggregate")
    for name in ("targetUnits", "properties"):
        if body.get(name):
            raise bad_request(f"not supported by the local CDF: {name} in aggregate")
    check_keys(body, {"view", "instanceType", "aggregates", "groupBy", "filter", "limit"})
    vkey = state.view_key(body.get("view"), "view")
    if vkey not in state.views:
        raise bad_request(f"view: One or more views do not exist: {key_text(vkey)}")
    kind = body.get("instanceType", "node")
    resolver = filters.Resolver(state)
    predicate = filters.compile_filter(resolver, body.get("filter"))
    need = state.view_containers(vkey)
    matched = [
        i for i in state.instances.values() if i.kind == kind and need <= i.data.keys() and predicate(i)
    ]
    specs = body.get("aggregates")
    if not isinstance(specs, list) or not specs:
        raise bad_request("aggregates: expected a non-empty list")
    metrics = []
    for n, spec in enumerate(specs):
        if not isinstance(spec, dict) or len(spec) != 1:
            raise bad_request(f"aggregates[{n}]: expected one aggregate")
        ((name, arg),) = spec.items()
        if name not in METRICS:
            raise bad_request(f"not supported by the local CDF: aggregate {name}")
        prop = arg.get("property") if isinstance(arg, dict) else None
        if not isinstance(prop, str):
            raise bad_request(f"aggregates[{n}].{name}.property: required")
        get, _ = resolver.getter([vkey[0], f"{vkey[1]}/{vkey[2]}", prop], f"aggregates[{n}]")
        metrics.append((name, prop, get))
    group_by = body.get("groupBy") or []
    groups: dict[tuple[Any, ...], list[Instance]] = {}
    getters = [resolver.getter([vkey[0], f"{vkey[1]}/{vkey[2]}", g], "groupBy")[0] for g in group_by]
    for inst in matched:
        group = tuple(_hashable(g(inst)) for g in getters)
        groups.setdefault(group, []).append(inst)
    if not group_by:
        groups = {(): matched}
    items = []
    for group, members in groups.items():
        item: Json = {"instanceType": kind, "aggregates": [_metric(n, p, g, members) for n, p, g in metrics]}
        if group_by:
            item["group"] = dict(zip(group_by, group, strict=True))
        items.append(item)
    return {"items": items}


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, dict | list) else value


def _metric(name: str, prop: str, get: filters.Getter, members: list[Instance]) -> Json:
    found = [v for v in (get(i) for i in members) if v is not None]
    numbers = [v for v in found if isinstance(v, int | float) and not isinstance(v, bool)]
    value: Any
    match name:
        case "count":
            value = len(found)
        case "sum":
            value = float(sum(numbers))
        case "avg":
            value = sum(numbers) / len(numbers) if numbers else None
        case "min":
            value = min(numbers) if numbers else None
        case _:
            value = max(numbers) if numbers else None
    return {"aggregate": name, "property": prop, "value": value}


# Seeding ----------------------------------------------------------------------------------------------


def seed_system_instances(store: Store) -> None:
    """The unit catalogue nodes of cdf_cdm_units, present in every project."""
    items = store.dms.system_instances
    if items:
        apply(store, {"items": items, "autoCreateDirectRelations": False}, system=True)


def rebuild_indexes(state: DmsState) -> None:
    """After loading a snapshot: the ordered indexes from the instances' own sequence numbers."""
    for inst in sorted(state.instances.values(), key=lambda i: i.seq):
        state.order.add(inst.seq, inst)
    everything = [*state.instances.values(), *state.tombstones.values()]
    for inst in sorted(everything, key=lambda i: i.change):
        state.changes.add(inst.change, inst)
