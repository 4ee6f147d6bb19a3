"""The Data Modeling state of one project: spaces, containers, views, data models and instances.

Schema objects are kept in CDF's request shape plus timestamps; views are resolved (inherited properties,
container types) on read and cached until the schema changes. Instances keep their data per container,
as CDF stores it, and are read back through whichever view the caller names.
"""

from __future__ import annotations

import bisect
import gc
import importlib.resources
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from plex_cdf.sim.cdf.errors import Json, bad_request

SpaceKey = str
ContainerKey = tuple[str, str]
ViewKey = tuple[str, str, str]
InstanceKey = tuple[str, str]
SYSTEM_SPACES = ("cdf_cdm", "cdf_cdm_units", "cdf_extraction_extensions")
FREEZE_FROM = 10_000


@dataclass(slots=True)
class Instance:
    """A node or an edge: identity, bookkeeping, its data per container (container -> property -> value)."""

    kind: str
    space: str
    external_id: str
    seq: int
    created: int
    version: int = 1
    updated: int = 0
    change: int = 0
    deleted: int | None = None
    type: Json | None = None
    start: Json | None = None
    end: Json | None = None
    data: dict[ContainerKey, dict[str, Any]] = field(default_factory=dict)

    @property
    def key(self) -> InstanceKey:
        return (self.space, self.external_id)

    def dump(self) -> Json:
        return {
            "kind": self.kind,
            "space": self.space,
            "externalId": self.external_id,
            "seq": self.seq,
            "created": self.created,
            "version": self.version,
            "updated": self.updated,
            "change": self.change,
            "deleted": self.deleted,
            "type": self.type,
            "start": self.start,
            "end": self.end,
            "data": [[list(k), v] for k, v in self.data.items()],
        }

    @classmethod
    def load(cls, raw: Json) -> Instance:
        data = {(k[0], k[1]): v for k, v in raw.pop("data")}
        return cls(
            raw["kind"],
            raw["space"],
            raw["externalId"],
            raw["seq"],
            raw["created"],
            raw["version"],
            raw["updated"],
            raw["change"],
            raw["deleted"],
            raw["type"],
            raw["start"],
            raw["end"],
            data,
        )


@dataclass(frozen=True, slots=True)
class Mapped:
    """A view property stored in a container property."""

    container: ContainerKey
    prop: str
    type: Json
    nullable: bool
    default: Any
    source: Json | None


@dataclass(frozen=True, slots=True)
class Reverse:
    """A reverse direct relation: instances of `source` whose `through` property points here."""

    connection: str
    source: ViewKey
    through: tuple[ViewKey, str]


@dataclass(frozen=True, slots=True)
class EdgeConnection:
    """Edges of `type` from (outwards) or to (inwards) an instance, their far nodes read through `source`.

    Documentation only, as in CDF: edges are separate instances, read with `query` (an edge result set from a
    node set, with `direction` and a filter on the edge type), never as a property of the node.
    """

    connection: str
    type: InstanceKey
    source: ViewKey
    direction: str
    edge_source: ViewKey | None


ViewProperty = Mapped | Reverse | EdgeConnection
EDGE_CONNECTIONS = ("single_edge_connection", "multi_edge_connection")
REVERSE_RELATIONS = ("single_reverse_direct_relation", "multi_reverse_direct_relation")


class Ordered:
    """Instances in ascending sequence order with lazy removal: append, forget, walk from a position.

    Sequence numbers only grow, so the dict keeps them in order; a sorted list of them finds where a walk
    starts (bisect) and is compacted once most of it is forgotten.
    """

    def __init__(self) -> None:
        self._seqs: list[int] = []
        self.items: dict[int, Instance] = {}

    def add(self, seq: int, inst: Instance) -> None:
        self._seqs.append(seq)
        self.items[seq] = inst

    def forget(self, seq: int) -> None:
        self.items.pop(seq, None)
        if len(self._seqs) > 1024 and len(self.items) < len(self._seqs) // 2:
            self._seqs = list(self.items)

    def after(self, seq: int) -> Iterator[Instance]:
        """The instances whose sequence number is above `seq`, in order."""
        seqs, items = self._seqs, self.items
        if not seqs or seq < seqs[0]:
            yield from items.values()
            return
        start = bisect.bisect_right(seqs, seq)
        for s in itertools.islice(seqs, start, None):
            inst = items.get(s)
            if inst is not None:
                yield inst


class DmsState:
    """Everything DMS holds for one project; the system models are loaded from the packaged catalogue."""

    def __init__(self) -> None:
        self.spaces: dict[SpaceKey, Json] = {}
        self.containers: dict[ContainerKey, Json] = {}
        self.views: dict[ViewKey, Json] = {}
        self.data_models: dict[ViewKey, Json] = {}
        self.instances: dict[InstanceKey, Instance] = {}
        self.tombstones: dict[InstanceKey, Instance] = {}
        self.order = Ordered()  # live instances by creation
        self.changes = Ordered()  # live instances and tombstones by last change
        self._seq = itertools.count(1)
        self._resolved: dict[ViewKey, dict[str, ViewProperty]] = {}
        self.plans: dict[Any, Any] = {}  # per-schema caches of the instance code (cleared on schema change)
        self.container_plans: dict[ContainerKey, Any] = {}  # the same, per container
        self.frozen_at = 0  # store size at the last settle_heap
        self.time_series: dict[InstanceKey, int] = {}  # CogniteTimeSeries node -> classic series id
        self.system_instances: list[Json] = []
        load_system_models(self)

    def next_seq(self) -> int:
        return next(self._seq)

    def bump_seq_past(self, used: int) -> None:
        self._seq = itertools.count(used + 1)

    def schema_changed(self) -> None:
        self._resolved.clear()
        self.plans.clear()
        self.container_plans.clear()

    def is_system(self, space: str) -> bool:
        return space in SYSTEM_SPACES

    def touch(self, inst: Instance) -> None:
        """Record a change of `inst` (apply or delete) for sync."""
        if inst.change:
            self.changes.forget(inst.change)
        inst.change = self.next_seq()
        self.changes.add(inst.change, inst)

    def find(self, key: InstanceKey) -> Instance | None:
        return self.instances.get(key)

    # Views ------------------------------------------------------------------------------------------

    def view_key(self, ref: Any, where: str) -> ViewKey:
        if not isinstance(ref, dict) or not all(
            isinstance(ref.get(k), str) for k in ("space", "externalId", "version")
        ):
            raise bad_request(f"{where}: expected a view reference with space, externalId and version")
        return (ref["space"], ref["externalId"], ref["version"])

    def resolved(self, key: ViewKey) -> dict[str, ViewProperty]:
        """Every property of a view, inherited ones included (a view's own win over inherited)."""
        found = self._resolved.get(key)
        if found is None:
            found = self._resolve(key, set())
            self._resolved[key] = found
        return found

    def _resolve(self, key: ViewKey, seen: set[ViewKey]) -> dict[str, ViewProperty]:
        if key in seen:
            raise bad_request(f"View {key_text(key)} implements itself")
        seen = seen | {key}
        view = self.views[key]
        out: dict[str, ViewProperty] = {}
        for parent in view.get("implements") or []:
            parent_key = (parent["space"], parent["externalId"], parent["version"])
            if parent_key in self.views:
                out.update(self._resolve(parent_key, seen))
        for name, spec in (view.get("properties") or {}).items():
            out[name] = self._property(spec)
        return out

    def _property(self, spec: Json) -> ViewProperty:
        if spec.get("connectionType") in EDGE_CONNECTIONS:
            edge_source = spec.get("edgeSource")
            return EdgeConnection(
                spec["connectionType"],
                (spec["type"]["space"], spec["type"]["externalId"]),
                self.view_key(spec["source"], "source"),
                spec["direction"],
                None if edge_source is None else self.view_key(edge_source, "edgeSource"),
            )
        if "connectionType" in spec:
            through = spec["through"]
            return Reverse(
                spec["connectionType"],
                self.view_key(spec["source"], "source"),
                (self.view_key(through["source"], "through.source"), through["identifier"]),
            )
        ref = spec["container"]
        ckey = (ref["space"], ref["externalId"])
        cprop = self.containers[ckey]["properties"][spec["containerPropertyIdentifier"]]
        return Mapped(
            ckey,
            spec["containerPropertyIdentifier"],
            cprop["type"],
            cprop.get("nullable", True),
            cprop.get("defaultValue"),
            spec.get("source"),
        )

    def view_containers(self, key: ViewKey) -> set[ContainerKey]:
        return {p.container for p in self.resolved(key).values() if isinstance(p, Mapped)}


def settle_heap(state: DmsState) -> None:
    """Keep Python's cycle collector off a large store: collect young cycles, freeze the survivors.

    Large stores otherwise spend most of a list or sync in collector passes over objects that live as long
    as the project (measured 3x slower at 100,000 nodes). Frozen objects are still freed by reference
    counting when an instance is deleted or replaced; only a cycle created before a freeze escapes, so this
    runs only once the store holds 10,000 instances and after it grew by a tenth.
    """
    size = len(state.instances)
    if size >= FREEZE_FROM and size > state.frozen_at * 1.1:
        gc.collect(1)
        gc.freeze()
        state.frozen_at = size


def key_text(key: tuple[str, ...]) -> str:
    return ":".join(key[:2]) + (f"/{key[2]}" if len(key) > 2 else "")


def load_system_models(state: DmsState) -> None:
    """Install cdf_cdm, cdf_cdm_units and cdf_extraction_extensions from the packaged catalogue."""
    raw = importlib.resources.files("plex_cdf.sim.cdf.dms").joinpath("system_models.json").read_bytes()
    catalogue = orjson.loads(raw)
    for space in SYSTEM_SPACES:
        state.spaces[space] = {
            "space": space,
            "name": space,
            "description": "System space of the local CDF (read-only)",
            "isGlobal": True,
            "createdTime": 0,
            "lastUpdatedTime": 0,
        }
    versions = {(v["space"], v["externalId"]): v["version"] for v in catalogue["views"]}
    for view in catalogue["views"]:
        _install_view(state, view, versions)
    for model in catalogue["dataModels"]:
        views = [
            {"type": "view", "space": v["space"], "externalId": v["externalId"], "version": v["version"]}
            for v in catalogue["views"]
            if v["space"] == model["views"]
        ]
        state.data_models[(model["space"], model["externalId"], model["version"])] = {
            "space": model["space"],
            "externalId": model["externalId"],
            "version": model["version"],
            "name": model["externalId"],
            "description": "Cognite's core data model",
            "views": views,
            "isGlobal": True,
            "createdTime": 0,
            "lastUpdatedTime": 0,
        }
    units = catalogue["units"]
    view = {"type": "view", "space": "cdf_cdm", "externalId": units["view"], "version": "v1"}
    state.system_instances = [
        {
            "instanceType": "node",
            "space": units["space"],
            "externalId": unit["externalId"],
            "sources": [
                {
                    "source": view,
                    "properties": {k: v for k, v in unit.items() if k != "externalId"},
                }
            ],
        }
        for unit in units["nodes"]
    ]


def _install_view(state: DmsState, view: Json, versions: dict[tuple[str, str], str]) -> None:
    space, name = view["space"], view["externalId"]
    container_props = {
        prop: {
            "type": spec["type"],
            "nullable": spec["nullable"],
            "autoIncrement": False,
            "immutable": False,
            "constraintState": {},
        }
        for prop, spec in view["properties"].items()
    }
    if container_props:
        state.containers[(space, name)] = {
            "space": space,
            "externalId": name,
            "name": name,
            "usedFor": view["usedFor"],
            "properties": container_props,
            "constraints": {},
            "indexes": {},
            "isGlobal": True,
            "createdTime": 0,
            "lastUpdatedTime": 0,
        }
    properties: Json = {}
    for prop, spec in view["properties"].items():
        mapped: Json = {
            "container": {"type": "container", "space": space, "externalId": name},
            "containerPropertyIdentifier": prop,
        }
        if "source" in spec:
            mapped["source"] = _ref("cdf_cdm", spec["source"], versions)
        properties[prop] = mapped
    for prop, spec in view["reverse"].items():
        properties[prop] = {
            "connectionType": spec["connectionType"],
            "source": _ref("cdf_cdm", spec["source"], versions),
            "through": {"source": _ref("cdf_cdm", spec["source"], versions), "identifier": spec["through"]},
        }
    implements = []
    for parent in view["implements"]:
        p_space, p_name = parent.split(":")
        implements.append(_ref(p_space, p_name, versions))
    state.views[(space, name, view["version"])] = {
        "space": space,
        "externalId": name,
        "version": view["version"],
        "name": name,
        "implements": implements,
        "properties": properties,
        "filter": None,
        "usedFor": view["usedFor"],
        "isGlobal": True,
        "createdTime": 0,
        "lastUpdatedTime": 0,
    }


def _ref(space: str, name: str, versions: dict[tuple[str, str], str]) -> Json:
    return {"type": "view", "space": space, "externalId": name, "version": versions[(space, name)]}
