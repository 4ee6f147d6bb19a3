"""Spec conformance: every documented GET route of the served namespaces answers as Plex's published API
says (the derived catalogue, src/plex_cdf/sim/plex/connect_catalogue.json): the status, the required
parameters, the documented filters, and the answer's field names and types."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from plex_cdf.sim.plex import SimPlex
from plex_cdf.sim.plex.catalogue import FieldType, Param, RouteSpec, connect_routes
from plex_cdf.sim.plex.errors import PlexError
from plex_cdf.sim.plex.timefmt import HOUR, emit, parse_strict

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
UNKNOWN_UUID = "0badc0de-0000-4000-8000-000000000000"
ROUTES = connect_routes()
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Routes the plant holds records for: their lists must not be empty, so their shape is really checked.
WITH_RECORDS = {
    "/mdm/v1/contacts",
    "/mdm/v1/supply-items",
    "/inventory/v1/inventory-definitions/supply-items",
    "/purchasing/v1/purchase-orders",
    "/purchasing/v1/purchase-orders/{poId}/line-items",
    "/purchasing/v2-beta1/releases",
    "/sales/v1/orders",
    "/sales/v1/orders/{id}/lines",
    "/sales/v1/releases",
    "/inventory/v1/inventory-tracking/lots",
    "/mdm/v1/customers/{customerId}/addresses",
    "/mdm/v1/parts",
    "/scheduling/v1/jobs",
    "/production/v1/production-history/production-entries",
    "/inventory/v1/inventory-tracking/containers",
    "/maintenance/v1/equipment",
}


@pytest.fixture(scope="module")
def sim() -> SimPlex:
    return SimPlex(seed=3, scale="small", now=START)


def call(sim: SimPlex, path: str, params: dict[str, str]) -> tuple[int, Any]:
    try:
        return 200, sim.truth.get(path, params)
    except PlexError as error:
        return error.status, error.body


def sample_value(sim: SimPlex, param: Param) -> str:
    """A valid value for a required query parameter."""
    if param.item_type == "date-time":
        end = parse_strict("2026-11-28T00:00Z")
        return emit(end - 24 * HOUR if param.name.lower().startswith(("begin", "start")) else end, 0)
    if param.item_type == "uuid":
        return sim.plant.master.parts[0].row["id"]
    if param.item_type in ("integer", "number"):
        return "1"
    if param.item_type == "boolean":
        return "true"
    return "x"


def required(sim: SimPlex, spec: RouteSpec) -> dict[str, str]:
    return {p.name: sample_value(sim, p) for p in spec.query_params() if p.required}


def _key_of(row: dict[str, Any], name: str) -> Any:
    return row[name] if name in row else row.get("id")


def fill_path(sim: SimPlex, spec: RouteSpec) -> tuple[str, bool]:
    """(concrete path, every id known): each path id taken from the collection one level up."""
    path, known = spec.path, True
    for found in re.finditer(r"\{(\w+)\}", spec.path):
        name = found.group(1)
        collection = path[: path.index("{" + name + "}") - 1]
        value: Any = None
        if "{" not in collection:
            value = known_id(sim, collection, name)
        if value is None:
            known = False
            value = unknown_value(_param(spec, name))
        path = path.replace("{" + name + "}", str(value), 1)
    return path, known


def unknown_value(param: Param) -> str:
    """A well-formed id the plant does not hold."""
    return {"uuid": UNKNOWN_UUID, "integer": "999999", "date-time": "2026-11-27T00:00Z"}.get(
        param.item_type, "NOPE"
    )


def _param(spec: RouteSpec, name: str) -> Param:
    return next(p for p in spec.params if p.name == name)


def known_id(sim: SimPlex, collection: str, name: str) -> Any:
    if collection == "/quality/v1/checksheets":
        sheets = list(sim.plant.history.checksheets(0, sim.clock.now_ms(), sim.clock.now_ms()))
        return sheets[0][1] if sheets else None
    if collection == "/production/v1/control/workcenters":
        collection = "/production/v1/production-definitions/workcenters"
    spec = next((s for s in ROUTES if s.path == collection), None)
    status, rows = call(sim, collection, required(sim, spec) if spec else {})
    if status != 200 or not isinstance(rows, list) or not rows:
        return None
    return _key_of(rows[0], name)


def type_ok(kind: FieldType, value: Any) -> bool:
    if value is None:
        return True  # Plex answers null for any field it has no value for
    if isinstance(kind, dict):
        if "object" in kind:
            return isinstance(value, dict) and shape_errors(kind["object"], value) == []
        inner = kind["array"]
        if not isinstance(value, list):
            return False
        if isinstance(inner, dict):
            return all(isinstance(v, dict) and shape_errors(inner, v) == [] for v in value)
        return all(type_ok(inner, v) for v in value)
    checks = {
        "string": lambda v: isinstance(v, str),
        "uuid": lambda v: isinstance(v, str) and bool(UUID.match(v)),
        "date-time": lambda v: isinstance(v, str) and parse_strict(v) >= 0,
        "date": lambda v: isinstance(v, str),
        "time": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "any": lambda v: True,
    }
    return bool(checks[kind](value))


def shape_errors(fields: dict[str, FieldType], row: dict[str, Any]) -> list[str]:
    problems = []
    if list(row) != list(fields) and set(row) != set(fields):
        problems.append(f"fields {sorted(set(row) ^ set(fields))} differ from the documented ones")
    problems += [
        f"{name}={row[name]!r} is not {fields[name]}"
        for name in row
        if name in fields and not type_ok(fields[name], row[name])
    ]
    return problems


@pytest.mark.parametrize("spec", ROUTES, ids=[s.path for s in ROUTES])
def test_documented_route_answers_in_the_documented_shape(sim: SimPlex, spec: RouteSpec) -> None:
    path, known = fill_path(sim, spec)
    status, body = call(sim, path, required(sim, spec))
    if spec.answer == "file" or (not known and spec.answer == "object"):
        assert status == 404, f"{path}: an unknown id answered {status}, Plex answers 404"
        return
    if not known:
        assert status in (200, 404), f"{path}: {status} {body}"
        return
    assert status == 200, f"{path} answered {status} {body}"
    rows = body if spec.answer == "list" else [body]
    assert isinstance(body, list if spec.answer == "list" else dict), f"{path} is not a JSON {spec.answer}"
    if spec.path in WITH_RECORDS:
        assert rows, f"{path} is empty although the plant holds such records"
    for row in rows[:200]:
        assert shape_errors(spec.fields, row) == [], f"{path}: {shape_errors(spec.fields, row)}"


@pytest.mark.parametrize(
    "spec", [s for s in ROUTES if any(p.required for p in s.query_params())], ids=lambda s: s.path
)
def test_required_parameters_are_enforced(sim: SimPlex, spec: RouteSpec) -> None:
    path, _ = fill_path(sim, spec)
    for param in (p for p in spec.query_params() if p.required):
        params = {k: v for k, v in required(sim, spec).items() if k != param.name}
        status, body = call(sim, path, params)
        assert status == 400, f"{path} without {param.name} answered {status}; Plex requires it"
        assert body["errors"][0]["metadata"][0]["field"] == param.name


def test_every_served_namespace_answers_over_http_with_the_subscription_switch(sim: SimPlex) -> None:
    headers = {"X-Plex-Connect-Api-Key": "sim-key"}
    probes = [
        "/purchasing/v1/purchase-orders",
        "/sales/v1/orders",
        "/mdm/v1/contacts",
        "/inventory/v1/inventory-definitions/supply-items",
    ]
    with sim.serve() as server, httpx2.Client(base_url=server.base_url, headers=headers) as client:
        for probe in probes:
            answer = client.get(probe)
            assert answer.status_code == 200 and answer.json(), f"{probe} answered {answer.status_code}"
        sim.subscribe("sim-key", "purchasing", subscribed=False)
        try:
            refused = client.get("/purchasing/v1/purchase-orders")
            assert refused.status_code == 401, "an unsubscribed product must answer 401 as Plex does"
            assert client.get("/sales/v1/orders").status_code == 200
        finally:
            sim.subscribe("sim-key", "purchasing", subscribed=True)


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _matches(row: dict[str, Any], field: str, value: str) -> bool:
    got = row.get(field)
    items = got if isinstance(got, list) else [got]
    return any(_text(item).lower() == value.lower() for item in items)


def test_every_documented_filter_of_a_route_with_rows_filters(sim: SimPlex) -> None:
    """Each documented parameter narrows the list to the rows it names; date ranges keep their side."""
    from plex_cdf.sim.plex import connect
    from plex_cdf.sim.plex.params import Bound, Eq

    checked, failures = 0, []
    for route in connect.ROUTES:
        if "{" in route.template or route.spec.answer != "list":
            continue
        base = required(sim, route.spec)
        status, rows = call(sim, route.template, base)
        if status != 200 or not rows:
            continue
        for filter_ in route.filters:
            if filter_.param in base or not isinstance(filter_, Eq | Bound) or filter_.field.startswith("_"):
                continue
            if "." in filter_.field:
                continue
            sample = next((r[filter_.field] for r in rows if r.get(filter_.field) not in (None, [])), None)
            if sample is None:
                continue
            value = _text(sample[0] if isinstance(sample, list) else sample)
            status, kept = call(sim, route.template, {**base, filter_.param: value})
            checked += 1
            if status != 200:
                failures.append(f"{route.template}?{filter_.param}={value}: {status} {kept}")
            elif isinstance(filter_, Eq) and (
                not kept or not all(_matches(r, filter_.field, value) for r in kept)
            ):
                failures.append(f"{route.template}?{filter_.param}={value} kept rows with other values")
            elif isinstance(filter_, Bound):
                at = parse_strict(value)
                dated = [parse_strict(r[filter_.field]) for r in kept]
                wrong = [d for d in dated if (d < at if filter_.side == "begin" else d >= at)]
                if wrong:
                    failures.append(f"{route.template}?{filter_.param}={value} kept the wrong side")
    assert checked > 150, f"only {checked} filters exercised"
    assert failures == [], "\n".join(failures)


def test_lots_filter_on_the_documented_manufactured_date_names(sim: SimPlex) -> None:
    lots = sim.truth.get("/inventory/v1/inventory-tracking/lots")
    assert isinstance(lots, list) and lots
    middle = sorted(parse_strict(lot["manufacturedDateTime"]) for lot in lots)[len(lots) // 2]
    cut = emit(middle, 0)
    early = sim.truth.get("/inventory/v1/inventory-tracking/lots", {"endManufacturedDateTime": cut})
    late = sim.truth.get("/inventory/v1/inventory-tracking/lots", {"beginManufacturedDateTime": cut})
    assert len(early) + len(late) == len(lots) and early and late
    assert all(parse_strict(lot["manufacturedDateTime"]) < middle for lot in early)
    invented = sim.truth.get("/inventory/v1/inventory-tracking/lots", {"manufacturedDateTimeBegin": cut})
    assert invented == lots, "an undocumented name is ignored, as Plex ignores unknown parameters"


def test_plex_cdf_sends_each_data_source_only_inputs_its_metadata_names_with_their_types() -> None:
    """The product's data-source rows against the catalogue: names Plex publishes (or, where Plex
    publishes only counts, the simulator's names), values of the published types."""
    from plex_cdf.domains.registry import ALL
    from plex_cdf.domains.resource import DataSourceWindow
    from plex_cdf.plex.dates import format_plex_datetime
    from plex_cdf.sim.plex.datasources import SOURCES, validate

    rows = [r for r in ALL if r.api == "datasource"]
    assert {r.datasource_id for r in rows} == {18765, 22870, 4142, 6429, 19938}
    for row in rows:
        assert row.datasource_id is not None
        source = SOURCES[row.datasource_id]
        inputs: dict[str, object] = dict(row.datasource_inputs)
        if isinstance(row.mode, DataSourceWindow):
            types = {f.name: f.type for f in source.inputs}
            assert types.get(row.mode.begin_param) == types.get(row.mode.end_param) == "datetime", row.name
            inputs[row.mode.begin_param] = format_plex_datetime(START)
            inputs[row.mode.end_param] = format_plex_datetime(START)
        validate(source, inputs, "test")  # raises Plex's 400 for an unknown name or a mistyped value


def test_the_filters_plex_cdf_never_used_narrow_the_answer_too(sim: SimPlex) -> None:
    """Filters the simulator used to ignore: each keeps exactly the rows it names."""

    def get(path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        rows = sim.truth.get(path, params or {})
        assert isinstance(rows, list)
        return rows

    equipment = get("/maintenance/v1/equipment")
    part = next(p for e in equipment for p in e["parts"])
    by_part = get("/maintenance/v1/equipment", {"partId": part["id"]})
    assert by_part and all(part["id"] in {p["id"] for p in e["parts"]} for e in by_part)
    assert len(by_part) < len(equipment)
    typed = get("/maintenance/v1/equipment", {"partType": "Sub Assembly"})
    assert all(any(p["partType"] == "Sub Assembly" for p in e["parts"]) for e in typed)
    locations = get("/inventory/v1/inventory-definitions/locations")
    storage = get("/inventory/v1/inventory-definitions/locations", {"locationTypeFlag": "Storage"})
    assert storage and len(storage) == sum(loc["locationType"] == "Storage" for loc in locations)
    window = {"beginDate": "2026-11-14T00:00Z", "endDate": "2026-11-28T00:00Z"}
    moves = get("/inventory/v1/inventory-history/container-location-moves", window)
    raw = get(
        "/inventory/v1/inventory-history/container-location-moves", {**window, "partType": "Raw Material"}
    )
    types = {p["id"]: p["type"] for p in get("/mdm/v1/parts")}
    assert raw and len(raw) == sum(types[m["partId"]] == "Raw Material" for m in moves) < len(moves)
    assert get("/mdm/v1/suppliers", {"language": "Klingon"}) == []
    customers = get("/mdm/v1/customers")
    region = customers[0]["region"]
    assert get("/mdm/v1/customers", {"region": region}) == [c for c in customers if c["region"] == region]
