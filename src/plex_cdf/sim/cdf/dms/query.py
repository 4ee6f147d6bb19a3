"""`instances/query` and `instances/sync`: named result sets of nodes and edges, chained, with cursors.

A node set may start from another set and follow a direct relation (`through`) outwards or inwards (a
reverse direct relation of a view is followed as its underlying direct relation, inwards); an edge set
follows edges from a node set. `sync` answers, per result set, the instances changed since its cursor,
deleted ones included (with `deletedTime`), and always a cursor to continue from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plex_cdf.sim.cdf.dms import filters
from plex_cdf.sim.cdf.dms.instances import (
    decode_cursor,
    encode_cursor,
    limit_of,
    renderer,
    select,
    sources_of,
    typing,
)
from plex_cdf.sim.cdf.dms.model import (
    DmsState,
    EdgeConnection,
    Instance,
    InstanceKey,
    Mapped,
    Reverse,
    key_text,
)
from plex_cdf.sim.cdf.errors import Json, bad_request
from plex_cdf.sim.cdf.keys import check_keys
from plex_cdf.sim.cdf.store import Store

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
MAX_SETS = 50
ALLOWED = {"with", "select", "cursors", "parameters", "includeTyping"}
SYNC_ALLOWED = ALLOWED | {"allowExpiredCursorsAndAcceptMissedDeletes"}
QUERY_EXPRESSION_FIELDS = frozenset({"nodes", "edges", "sort", "limit"})
SYNC_EXPRESSION_FIELDS = frozenset({"nodes", "edges", "limit", "mode", "skipAlreadyDeleted"})
NODE_FIELDS = frozenset({"from", "through", "direction", "filter", "chainTo"})
EDGE_FIELDS = frozenset(
    {"from", "direction", "filter", "nodeFilter", "terminationFilter", "maxDistance", "limitEach", "chainTo"}
)


class Evaluator:
    """Evaluates result set expressions on demand (each once), following `from` chains."""

    def __init__(self, state: DmsState, body: Json, sync: bool) -> None:
        self.state = state
        self.sync = sync
        sets = body.get("with")
        if not isinstance(sets, dict) or not sets:
            raise bad_request("with: expected an object of named result set expressions")
        self.sets: Json = sets
        if len(self.sets) > MAX_SETS:
            raise bad_request(f"with: at most {MAX_SETS} result set expressions")
        params = body.get("parameters") or {}
        if not isinstance(params, dict):
            raise bad_request("parameters: expected an object")
        self.resolver = filters.Resolver(state, params)
        self.cursors: Json = body.get("cursors") or {}
        self._members: dict[str, list[Instance]] = {}
        self._busy: set[str] = set()

    def expression(self, name: str) -> tuple[str, Json, Json]:
        expr = self.sets.get(name)
        if not isinstance(expr, dict):
            raise bad_request(f"with.{name}: expected a result set expression")
        kinds = [k for k in ("nodes", "edges") if k in expr]
        if len(kinds) != 1:
            unknown = set(expr) - {"sort", "limit", "postSort"}
            raise bad_request(f"not supported by the local CDF: with.{name} ({', '.join(sorted(unknown))})")
        return kinds[0], expr[kinds[0]] or {}, expr

    def members(self, name: str) -> list[Instance]:
        """Every live instance the set holds (before paging)."""
        if name in self._members:
            return self._members[name]
        if name in self._busy:
            raise bad_request(f"with.{name}: result sets chain in a circle")
        self._busy.add(name)
        kind, spec, _expr = self.expression(name)
        where = f"with.{name}.{kind}"
        predicate = filters.compile_filter(self.resolver, spec.get("filter"), f"{where}.filter")
        found = (
            self._nodes(spec, where, predicate) if kind == "nodes" else self._edges(spec, where, predicate)
        )
        self._busy.discard(name)
        self._members[name] = found
        return found

    def _source(self, spec: Json, where: str) -> list[Instance] | None:
        origin = spec.get("from")
        if origin is None:
            return None
        if origin not in self.sets:
            raise bad_request(f"{where}.from: no result set named {origin!r}")
        return self.members(origin)

    def _nodes(self, spec: Json, where: str, predicate: filters.Predicate) -> list[Instance]:
        state = self.state
        check_keys(spec, NODE_FIELDS, f"{where}.")
        origin = self._source(spec, where)
        if origin is None:
            return [i for i in state.instances.values() if i.kind == "node" and predicate(i)]
        direction = _direction(spec, where)
        if spec.get("through") is None:
            picked = [state.instances.get(k) for k in self._chained(spec, where)]
            return _unique([i for i in picked if i is not None and predicate(i)])
        get, inwards = self._through(spec["through"], f"{where}.through")
        if direction == "inwards":
            inwards = not inwards
        if not inwards:
            targets: list[Instance] = []
            for inst in origin:
                value = get(inst)
                for ref in value if isinstance(value, list) else [value]:
                    if isinstance(ref, dict):
                        found = state.instances.get((ref["space"], ref["externalId"]))
                        if found is not None and predicate(found):
                            targets.append(found)
            return _unique(targets)
        wanted = {i.key for i in origin}
        out = []
        for inst in state.instances.values():
            if inst.kind != "node":
                continue
            value = get(inst)
            refs = value if isinstance(value, list) else [value]
            if any(
                isinstance(r, dict) and (r["space"], r["externalId"]) in wanted for r in refs
            ) and predicate(inst):
                out.append(inst)
        return out

    def _chained(self, spec: Json, where: str) -> list[InstanceKey]:
        """The nodes a set chains to from its `from` set: its nodes, or for edges the side `chainTo` names.

        `destination` (the default) is the end of an edge followed outwards and the start of one followed
        inwards, as the `from` edge set's `direction` says; `source` is the other side.
        """
        origin_name = spec["from"]
        origin = self.members(origin_name)
        chain_to = spec.get("chainTo", "destination")
        if chain_to not in ("destination", "source"):
            raise bad_request(f"{where}.chainTo: must be destination or source, got {chain_to!r}")
        kind, origin_spec, _expr = self.expression(origin_name)
        if kind == "nodes":
            return [i.key for i in origin if i.kind == "node"]
        outwards = origin_spec.get("direction", "outwards") == "outwards"
        to_end = outwards == (chain_to == "destination")
        return [_k(i.end if to_end else i.start) for i in origin if i.kind == "edge"]

    def _through(self, ref: Any, where: str) -> tuple[filters.Getter, bool]:
        """Getter of the direct relation to follow, and whether it is followed inwards (reverse relation)."""
        if isinstance(ref, dict) and "identifier" in ref:
            source = ref.get("source") or {}
            if source.get("type") == "container" or "version" not in source:
                path = [source.get("space"), source.get("externalId"), ref["identifier"]]
            else:
                vkey = self.state.view_key(source, f"{where}.source")
                if vkey not in self.state.views:
                    raise bad_request(f"{where}.source: view {key_text(vkey)} does not exist")
                spec = self.state.resolved(vkey).get(ref["identifier"])
                if isinstance(spec, Reverse):
                    (tkey, tprop) = spec.through
                    get, _ = self.resolver.getter([tkey[0], f"{tkey[1]}/{tkey[2]}", tprop], where)
                    return get, True
                if isinstance(spec, EdgeConnection):
                    raise bad_request(
                        f"{where}: {ref['identifier']!r} is an edge connection; follow it with an edge "
                        "result set (from, direction, a filter on the edge type)"
                    )
                if not isinstance(spec, Mapped):
                    raise bad_request(f"{where}: view {key_text(vkey)} has no property {ref['identifier']!r}")
                path = [vkey[0], f"{vkey[1]}/{vkey[2]}", ref["identifier"]]
        else:
            path = ref
        get, ptype = self.resolver.getter(path, where)
        if ptype is None or ptype["type"] != "direct":
            raise bad_request(f"{where}: must be a direct relation property")
        return get, False

    def _edges(self, spec: Json, where: str, predicate: filters.Predicate) -> list[Instance]:
        state = self.state
        check_keys(spec, EDGE_FIELDS, f"{where}.")
        edges = [i for i in state.instances.values() if i.kind == "edge"]
        origin = self._source(spec, where)
        if origin is None:
            return [e for e in edges if predicate(e)]
        direction = _direction(spec, where)
        node_filter = filters.compile_filter(self.resolver, spec.get("nodeFilter"), f"{where}.nodeFilter")
        stop = filters.compile_filter(
            self.resolver, spec.get("terminationFilter"), f"{where}.terminationFilter"
        )
        has_stop = spec.get("terminationFilter") is not None
        max_distance = spec.get("maxDistance")
        if max_distance is not None and (
            isinstance(max_distance, bool) or not isinstance(max_distance, int) or max_distance < 1
        ):
            raise bad_request(f"{where}.maxDistance: expected a positive integer, got {max_distance!r}")
        limit_each = spec.get("limitEach")
        if limit_each is not None:
            if max_distance != 1:
                raise bad_request(f"{where}.limitEach: only with maxDistance 1")
            limit_each = limit_of(limit_each, MAX_LIMIT, MAX_LIMIT, f"{where}.limitEach")
        index: dict[InstanceKey, list[Instance]] = {}
        for edge in edges:
            if predicate(edge):
                index.setdefault(_k(edge.start if direction == "outwards" else edge.end), []).append(edge)
        frontier = self._chained(spec, where)
        seen_nodes = set(frontier)
        out: list[Instance] = []
        depth = 0
        while frontier and (max_distance is None or depth < max_distance):
            depth += 1
            nxt = []
            for key in frontier:
                for edge in index.get(key, ())[:limit_each]:
                    far = _k(edge.end if direction == "outwards" else edge.start)
                    node = state.instances.get(far)
                    if node is None or not node_filter(node):
                        continue
                    out.append(edge)
                    if far not in seen_nodes and not (has_stop and stop(node)):
                        seen_nodes.add(far)
                        nxt.append(far)
            frontier = nxt
        return _unique(out)


def _direction(spec: Json, where: str) -> str:
    direction = spec.get("direction", "outwards")
    if direction not in ("outwards", "inwards"):
        raise bad_request(f"{where}.direction: must be outwards or inwards")
    return str(direction)


def _k(ref: Json | None) -> InstanceKey:
    return ("", "") if ref is None else (ref["space"], ref["externalId"])


def _unique(items: list[Instance]) -> list[Instance]:
    seen: set[InstanceKey] = set()
    out = []
    for inst in items:
        if inst.key not in seen:
            seen.add(inst.key)
            out.append(inst)
    return out


def _selects(state: DmsState, body: Json) -> dict[str, tuple[list[Any], Any, Any]]:
    raw = body.get("select")
    if not isinstance(raw, dict):
        raise bad_request("select: expected an object naming the result sets to return")
    out = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            raise bad_request(f"select.{name}: expected an object")
        out[name] = (
            sources_of(state, spec.get("sources"), f"select.{name}.sources"),
            spec.get("sort"),
            spec.get("limit"),
        )
    return out


Pager = Callable[[str, str, Json, Json], tuple[list[Instance], str | None]]


def _answer(state: DmsState, body: Json, ev: Evaluator, page_of: Pager) -> Json:
    """Every result set paged by `page_of(name, kind, spec, expr)`; those in `select` rendered."""
    selects = _selects(state, body)
    items: Json = {}
    cursors: Json = {}
    all_sources = []
    for name in ev.sets:
        kind, spec, expr = ev.expression(name)
        page, cursors[name] = page_of(name, kind, spec, expr)
        if name in selects:
            sources = selects[name][0]
            all_sources.extend(sources)
            render = renderer(state, sources)
            items[name] = [render(i) for i in page]
    answer: Json = {"items": items, "nextCursor": cursors}
    if body.get("includeTyping"):
        answer["typing"] = typing(state, all_sources)
    return answer


def query(store: Store, body: Json) -> Json:
    state = store.dms
    _refuse_unknown(body, ALLOWED)
    ev = Evaluator(state, body, sync=False)
    raw_select = body.get("select")
    selects: Json = raw_select if isinstance(raw_select, dict) else {}

    def page_of(name: str, kind: str, _spec: Json, expr: Json) -> tuple[list[Instance], str | None]:
        check_keys(expr, QUERY_EXPRESSION_FIELDS, f"with.{name}.")
        limit = limit_of(expr.get("limit"), DEFAULT_LIMIT, MAX_LIMIT, f"with.{name}.limit")
        chosen = selects.get(name)
        sort = expr.get("sort") or (chosen.get("sort") if isinstance(chosen, dict) else None)
        members = ev.members(name)
        return select(
            state,
            kind[:-1],
            lambda _i: True,
            sort,
            limit,
            ev.cursors.get(name),
            ev.resolver,
            candidates=members,
        )

    return _answer(state, body, ev, page_of)


def sync(store: Store, body: Json) -> Json:
    state = store.dms
    _refuse_unknown(body, SYNC_ALLOWED)
    ev = Evaluator(state, body, sync=True)

    def page_of(name: str, kind: str, spec: Json, expr: Json) -> tuple[list[Instance], str | None]:
        if expr.get("sort"):
            raise bad_request(f"with.{name}.sort: sync does not sort")
        check_keys(expr, SYNC_EXPRESSION_FIELDS, f"with.{name}.")
        # Paged to the end, one and two phases return the same instances; without a backfill they do not.
        if expr.get("mode", "onePhase") not in ("onePhase", "twoPhase"):
            raise bad_request(f"not supported by the local CDF: with.{name}.mode {expr['mode']}")
        if expr.get("skipAlreadyDeleted", True) is not True:
            raise bad_request(f"not supported by the local CDF: with.{name}.skipAlreadyDeleted false")
        limit = limit_of(expr.get("limit"), DEFAULT_LIMIT, MAX_LIMIT, f"with.{name}.limit")
        cursor = ev.cursors.get(name)
        after = decode_cursor(cursor, "c", f"cursors.{name}") if cursor else 0
        if spec.get("from") is None:
            predicate = filters.compile_filter(ev.resolver, spec.get("filter"), f"with.{name}.{kind}.filter")
            page, last = _changes(state, kind[:-1], predicate, after, limit, include_deleted=bool(cursor))
        else:
            members = {i.key for i in ev.members(name)}
            page, last = _changes(state, kind[:-1], _member_of(members), after, limit, include_deleted=False)
        return page, encode_cursor("c", last)

    return _answer(state, body, ev, page_of)


def _member_of(members: set[InstanceKey]) -> Callable[[Instance], bool]:
    return lambda inst: inst.key in members


def _changes(
    state: DmsState,
    kind: str,
    predicate: Callable[[Instance], bool],
    after: int,
    limit: int,
    include_deleted: bool,
) -> tuple[list[Instance], int]:
    """Instances changed after `after`, oldest change first; the change to resume from."""
    out: list[Instance] = []
    last = after
    for inst in state.changes.after(after):
        if len(out) == limit:
            return out, last
        last = inst.change
        if inst.kind != kind or (inst.deleted is not None and not include_deleted) or not predicate(inst):
            continue
        out.append(inst)
    return out, last


def _refuse_unknown(body: Json, allowed: set[str]) -> None:
    unknown = set(body) - allowed
    if unknown:
        raise bad_request(f"not supported by the local CDF: {', '.join(sorted(unknown))}")
