"""Property values: check one against its container type and return it in the form CDF answers with.

Timestamps come back as UTC ISO 8601 with milliseconds and `+00:00`, as CDF returns them; direct relations
as `{"space", "externalId"}`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import orjson

from plex_cdf.sim.cdf.errors import Json, bad_request

INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
DEFAULT_MAX_LIST = {"direct": 100}
MAX_LIST = 1000
MAX_TEXT_BYTES = 128_000
MAX_JSON_BYTES = 40_960
UTC = dt.UTC


def checker(ptype: Json) -> Callable[[Any, str], Any]:
    """`check` for one type, with the common scalar cases answered without the general path."""
    kind = ptype["type"]
    if ptype.get("list") and kind == "text":
        most = min(ptype.get("maxListSize") or MAX_LIST, MAX_LIST)
        size = ptype.get("maxTextSize") or MAX_TEXT_BYTES

        def texts(value: Any, where: str) -> Any:
            if (
                type(value) is list
                and len(value) <= most
                and all(type(v) is str and len(v) * 4 <= size for v in value)
            ):
                return value
            return check(value, ptype, where)

        return texts
    if ptype.get("list") or kind not in ("text", "float64", "float32", "boolean"):
        return lambda value, where: check(value, ptype, where)
    if kind == "text":
        limit = ptype.get("maxTextSize") or MAX_TEXT_BYTES

        def text(value: Any, where: str) -> Any:
            if type(value) is str and len(value) * 4 <= limit:
                return value
            return check(value, ptype, where)

        return text
    if kind == "boolean":
        return lambda value, where: value if type(value) is bool else check(value, ptype, where)

    def number(value: Any, where: str) -> Any:
        if type(value) is float and math.isfinite(value):
            return value
        return check(value, ptype, where)

    return number


def check(value: Any, ptype: Json, where: str) -> Any:
    """`value` checked against `ptype` (a container property type), normalized; None stays None."""
    if value is None:
        return None
    kind = ptype["type"]
    if ptype.get("list"):
        if not isinstance(value, list):
            raise bad_request(f"{where}: expected a list of {kind}, got {_name(value)}")
        limit = ptype.get("maxListSize") or DEFAULT_MAX_LIST.get(kind, MAX_LIST)
        if len(value) > limit:
            raise bad_request(f"{where}: list has {len(value)} elements, more than the maximum {limit}")
        return [_scalar(v, ptype, kind, f"{where}[{i}]") for i, v in enumerate(value)]
    return _scalar(value, ptype, kind, where)


def _scalar(value: Any, ptype: Json, kind: str, where: str) -> Any:
    match kind:
        case "text" | "timeseries" | "file" | "sequence":
            if not isinstance(value, str):
                raise bad_request(f"{where}: expected {kind} (a string), got {_name(value)}")
            if len(value.encode()) > (ptype.get("maxTextSize") or MAX_TEXT_BYTES):
                raise bad_request(f"{where}: text is longer than allowed")
            return value
        case "int32" | "int64":
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad_request(f"{where}: expected {kind}, got {_name(value)}")
            low, high = INT_RANGES[kind]
            if not low <= value <= high:
                raise bad_request(f"{where}: {value} is outside the range of {kind}")
            return value
        case "float32" | "float64":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise bad_request(f"{where}: expected {kind}, got {_name(value)}")
            if not math.isfinite(value):
                raise bad_request(f"{where}: {value} is not a finite number")
            return float(value)
        case "boolean":
            if not isinstance(value, bool):
                raise bad_request(f"{where}: expected boolean, got {_name(value)}")
            return value
        case "timestamp":
            return timestamp(value, where)
        case "date":
            if not isinstance(value, str):
                raise bad_request(f"{where}: expected a date YYYY-MM-DD, got {_name(value)}")
            try:
                return dt.date.fromisoformat(value).isoformat()
            except ValueError as exc:
                raise bad_request(f"{where}: {value!r} is not a date YYYY-MM-DD") from exc
        case "json":
            if len(orjson.dumps(value)) > MAX_JSON_BYTES:
                raise bad_request(f"{where}: json value is larger than {MAX_JSON_BYTES} bytes")
            return value
        case "direct":
            return direct(value, where)
        case "enum":
            if not isinstance(value, str) or value not in ptype.get("values", {}):
                allowed = ", ".join(sorted(ptype.get("values", {})))
                raise bad_request(f"{where}: {value!r} is not one of the enum values ({allowed})")
            return value
    raise bad_request(f"{where}: unsupported property type {kind!r}")


def timestamp(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise bad_request(f"{where}: expected a timestamp (ISO 8601 string), got {_name(value)}")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_request(f"{where}: {value!r} is not an ISO 8601 timestamp") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds")


def timestamp_ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp() * 1000)


def ms_timestamp(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def direct(value: Any, where: str) -> Json:
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("space"), str)
        or not isinstance(value.get("externalId"), str)
    ):
        raise bad_request(f"{where}: expected a direct relation {{space, externalId}}, got {value!r}")
    return {"space": value["space"], "externalId": value["externalId"]}


def _name(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"[:80]
