"""State time series (CogniteTimeSeries `type: state`): points checked against the node's CogniteStateSet.

A state datapoint carries `numericValue`, `stringValue` or both, which must name one state of the set;
the series stores the numeric state and answers both. Also: protobuf insert bodies (how the SDK sends
`insert_states`) read into the JSON shape the insert handler takes.

State points are taken from a protobuf insert only. cognite-sdk's `insert_states` sends them so (its
`StateDatapointsPoster`, protobuf against the beta API), the one way Cognite's own client writes them, and
no Cognite document shows state points in the JSON insert (docs/data-model.md, "State datapoints"): a JSON
insert into a state series is refused as not supported, so a product relying on it learns it here.
"""

from __future__ import annotations

from typing import Any

from cognite.client._proto.data_point_insertion_request_pb2 import DataPointInsertionRequest
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

from plex_cdf.sim.cdf.errors import Json, bad_request
from plex_cdf.sim.cdf.store import Store

TIME_SERIES = ("cdf_cdm", "CogniteTimeSeries")
JSON_INSERT = (
    "state datapoints in the JSON insert (send them as protobuf, as cognite-sdk's insert_states does)"
)
STATE_SET = ("cdf_cdm", "CogniteStateSet")


def is_state(meta: Json) -> bool:
    return meta.get("type") == "state"


def states_of(store: Store, meta: Json) -> dict[int, str]:
    """numeric -> string state of the series' state set; empty when it has none."""
    ref = meta.get("instanceId")
    node = store.dms.instances.get((ref["space"], ref["externalId"])) if ref else None
    pointer = node.data.get(TIME_SERIES, {}).get("stateSet") if node is not None else None
    state_set = store.dms.instances.get((pointer["space"], pointer["externalId"])) if pointer else None
    if state_set is None:
        return {}
    entries = state_set.data.get(STATE_SET, {}).get("states") or []
    return {int(e["numericValue"]): str(e["stringValue"]) for e in entries if isinstance(e, dict)}


def checked_points(store: Store, meta: Json, points: Any, index: int) -> list[tuple[int, float | str]]:
    if not isinstance(points, list) or not points:
        raise bad_request(f"items[{index}].datapoints: must be a non-empty list")
    states = states_of(store, meta)
    if not states:
        raise bad_request(f"items[{index}]: the state time series has no state set with states")
    by_name = {name: number for number, name in states.items()}
    out: list[tuple[int, float | str]] = []
    for n, point in enumerate(points):
        where = f"items[{index}].datapoints[{n}]"
        if not isinstance(point, dict) or "value" in point:
            raise bad_request(f"{where}: a state datapoint has numericValue and/or stringValue, not value")
        timestamp = point.get("timestamp")
        if not isinstance(timestamp, int) or isinstance(timestamp, bool):
            raise bad_request(f"{where}.timestamp: expected integer milliseconds, got {timestamp!r}")
        number, name = point.get("numericValue"), point.get("stringValue")
        if number is None and name is None:
            raise bad_request(f"{where}: give numericValue or stringValue")
        if number is not None and number not in states:
            raise bad_request(f"{where}.numericValue: {number!r} is not a state of the state set")
        if name is not None and name not in by_name:
            raise bad_request(f"{where}.stringValue: {name!r} is not a state of the state set")
        if number is not None and name is not None and states[number] != name:
            raise bad_request(
                f"{where}: numericValue {number} and stringValue {name!r} name different states"
            )
        out.append((timestamp, float(number) if number is not None else float(by_name[str(name)])))
    return out


def point_json(store: Store, meta: Json, timestamp: int, value: float, states: dict[int, str] | None) -> Json:
    names = states if states is not None else states_of(store, meta)
    number = int(value)
    point: Json = {"timestamp": timestamp, "numericValue": number}
    if number in names:
        point["stringValue"] = names[number]
    return point


def protobuf_body(raw: bytes) -> Json:
    """A DataPointInsertionRequest as the JSON insert body (numeric, string and state datapoints)."""
    request = DataPointInsertionRequest()
    try:
        request.ParseFromString(raw)
    except DecodeError as exc:
        raise bad_request("Request body is not a valid DataPointInsertionRequest") from exc
    items = []
    for item in request.items:
        out: Json = {}
        which = item.WhichOneof("timeSeriesReference")
        if which == "instanceId":
            out["instanceId"] = {"space": item.instanceId.space, "externalId": item.instanceId.externalId}
        elif which is not None:
            out[which] = getattr(item, which)
        kind = item.WhichOneof("datapointType")
        points: list[Json] = []
        if kind == "stateDatapoints":
            for dp in item.stateDatapoints.datapoints:
                point: Json = {"timestamp": dp.timestamp}
                if dp.HasField("numericValue"):
                    point["numericValue"] = dp.numericValue
                if dp.HasField("stringValue"):
                    point["stringValue"] = dp.stringValue
                points.append(point)
        elif kind is not None:
            points = [{"timestamp": dp.timestamp, "value": dp.value} for dp in getattr(item, kind).datapoints]
        out["datapoints"] = points
        items.append(out)
    return {"items": items}
