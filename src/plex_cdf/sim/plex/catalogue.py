"""Plex's published API as data: the documented GET routes of the served namespaces and the data-source
catalogue, derived from Plex's documents by `scripts/derive_plex_catalogue.py` into the two JSON files next
to this module. The simulator and its tests read only these files."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

HERE = Path(__file__).resolve().parent
FieldType = str | dict[str, Any]  # a type name, or {"object": {fields}} / {"array": {fields} | "<type>"}


@dataclass(frozen=True)
class Param:
    name: str
    where: Literal["q", "p"]  # query or path
    required: bool
    type: str  # string, uuid, date-time, date, boolean, integer, number, or array:<type>

    @property
    def item_type(self) -> str:
        return self.type.removeprefix("array:")


@dataclass(frozen=True)
class RouteSpec:
    path: str
    params: tuple[Param, ...]
    answer: Literal["list", "object", "file"]
    fields: dict[str, FieldType]
    statuses: tuple[int, ...]

    @property
    def namespace(self) -> str:
        return self.path.strip("/").split("/")[0]

    def query_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.where == "q")


@dataclass(frozen=True)
class DataSourceSpec:
    id: int
    name: str
    database: str
    input_count: int
    output_count: int
    row_limit: int
    inputs: tuple[tuple[str, str, bool], ...] | None  # (name, type, required) where Plex publishes them
    columns: tuple[tuple[str, str], ...] | None


@functools.cache
def connect_routes() -> tuple[RouteSpec, ...]:
    rows = json.loads((HERE / "connect_catalogue.json").read_text())
    return tuple(
        RouteSpec(
            row["path"],
            tuple(Param(name, where, required, kind) for name, where, required, kind in row["params"]),
            row["answer"],
            row.get("fields", {}),
            tuple(row.get("statuses", ())),
        )
        for row in rows
    )


@functools.cache
def datasource_specs() -> dict[int, DataSourceSpec]:
    rows = json.loads((HERE / "datasource_catalogue.json").read_text())
    return {
        row["id"]: DataSourceSpec(
            row["id"],
            row["name"],
            row["database"],
            row["input_count"],
            row["output_count"],
            row["row_limit"],
            tuple((n, t, r) for n, t, r in row["inputs"]) if "inputs" in row else None,
            tuple((n, t) for n, t in row["columns"]) if "columns" in row else None,
        )
        for row in rows
    }


def namespaces() -> tuple[str, ...]:
    """The namespaces (Plex products) the simulator serves, in catalogue order."""
    return tuple(dict.fromkeys(route.namespace for route in connect_routes()))
