"""Helpers every transform shares: lineage metadata, metadata stringification, Plex times as epoch ms."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from plex_cdf.domains.resource import Quarantine, Record
from plex_cdf.plex.dates import parse_plex_datetime, to_epoch_ms


def lineage(resource: str, plex_id: str) -> dict[str, str]:
    """Every CDF object keeps its Plex identity: the resource row's name and the Plex id (or joined key)."""
    return {"plex_resource": resource, "plex_id": plex_id}


def metadata_from(record: Record, fields: Iterable[str]) -> dict[str, str]:
    """The named fields as CDF metadata strings; nulls and empty strings are left out (so a field cleared
    in Plex disappears from CDF on the next replace)."""
    out: dict[str, str] = {}
    for name in fields:
        value = record.get(name)
        if value is None or value == "":
            continue
        out[name] = _as_text(value)
    return out


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_as_text(v) for v in value)
    return str(value)


def required(record: Record, name: str) -> Any:
    """The field's value, or Quarantine naming the field when it is missing or null."""
    value = record.get(name)
    if value is None or value == "":
        raise Quarantine(f"missing {name}")
    return value


def plex_ms(record: Record, name: str, *, required_field: bool = False) -> int | None:
    """A Plex date-time field as epoch milliseconds; Quarantine when present but unparseable."""
    value = record.get(name)
    if value is None or value == "":
        if required_field:
            raise Quarantine(f"missing {name}")
        return None
    if not isinstance(value, str):
        raise Quarantine(f"{name} is not a date-time: {value!r}")
    try:
        return to_epoch_ms(parse_plex_datetime(value))
    except ValueError as err:
        raise Quarantine(f"{name}: {err}") from None


def number(record: Record, name: str) -> float | None:
    """A numeric field as float, None when null; Quarantine when it is not a number."""
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Quarantine(f"{name} is not a number: {value!r}")
    return float(value)


def merged(*parts: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in parts:
        out.update(part)
    return out
