"""Derive the simulated Plex's catalogues from Plex's published documents.

    python scripts/derive_plex_catalogue.py [REFERENCE_DIR]

REFERENCE_DIR (default ../shared/reference) holds `plex_openapi/openapi.yaml` (the Connect OpenAPI document)
and `plex_datasources/*.md` (the data-source catalogue of a real tenant and the published metadata of two
sources). Writes two compact files into the simulator's package, which the simulator and the tests read
(never the reference itself):

- `src/plex_cdf/sim/plex/connect_catalogue.json`: every documented GET route of the served namespaces:
  path, parameters (name, where, required, type) and the answer's shape (list or object) with its field
  names and types, nested objects spelled out.
- `src/plex_cdf/sim/plex/datasource_catalogue.json`: every catalogued data source (id, name, database,
  module, input and output counts, read row limit) and, where Plex publishes them, its inputs and columns
  with their types.

Only facts are carried over (names, flags, types, counts); no description text.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "plex_cdf" / "sim" / "plex"
SERVED = (
    "mdm",
    "engineering",
    "scheduling",
    "production",
    "inventory",
    "quality",
    "maintenance",
    "platform",
    "purchasing",
    "sales",
    "cm",
)
Schema = dict[str, Any]


def resolve(schema: Schema, schemas: dict[str, Schema]) -> Schema:
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def type_of(schema: Schema, schemas: dict[str, Schema], depth: int = 0) -> Any:
    """A field's type: a name (string, uuid, date-time, date, time, integer, number, boolean, object,
    array) or, for nested records, {"object": {fields}} / {"array": {fields}} / {"array": "<type>"}."""
    schema = resolve(schema, schemas)
    kind = schema.get("type", "object" if "properties" in schema else "any")
    if kind == "array":
        items = resolve(schema.get("items", {}), schemas)
        inner = type_of(items, schemas, depth + 1)
        if isinstance(inner, dict) and "object" in inner:
            return {"array": inner["object"]}
        return {"array": inner} if inner not in ("any",) else "array"
    if kind == "object":
        props = schema.get("properties")
        if props and depth < 4:
            return {"object": {name: type_of(sub, schemas, depth + 1) for name, sub in props.items()}}
        return "object"
    if kind == "string":
        return (
            schema.get("format")
            if schema.get("format") in ("uuid", "date-time", "date", "time")
            else "string"
        )
    return kind  # integer, number, boolean


def param_type(schema: Schema) -> str:
    kind = schema.get("type", "string")
    if kind == "array":
        return "array:" + param_type(schema.get("items", {}))
    if kind == "string" and schema.get("format") in ("uuid", "date-time", "date"):
        return str(schema["format"])
    return str(kind)


def route(path: str, get: Schema, schemas: dict[str, Schema]) -> dict[str, Any]:
    params = [
        [p["name"], p["in"][0], bool(p.get("required")), param_type(p.get("schema", {}))]
        for p in get.get("parameters", [])
        if p.get("in") in ("query", "path")
    ]
    ok = get.get("responses", {}).get("200", {})
    content = ok.get("content", {})
    schema = resolve(next(iter(content.values()))["schema"], schemas) if content else None
    entry: dict[str, Any] = {"path": path, "params": params}
    if schema is None:
        entry["answer"] = "file"
        return entry
    shape = type_of(schema, schemas)
    if isinstance(shape, dict) and "array" in shape:
        entry["answer"], fields = "list", shape["array"]
    else:
        entry["answer"], fields = "object", shape.get("object", {}) if isinstance(shape, dict) else {}
    entry["fields"] = fields if isinstance(fields, dict) else {}
    entry["statuses"] = sorted(int(code) for code in get.get("responses", {}) if code.isdigit())
    return entry


def connect_catalogue(reference: Path) -> list[dict[str, Any]]:
    document = yaml.load((reference / "plex_openapi" / "openapi.yaml").read_text(), Loader=yaml.CSafeLoader)
    schemas = document["components"]["schemas"]
    return [
        route(path, ops["get"], schemas)
        for path, ops in sorted(document["paths"].items())
        if "get" in ops and path.strip("/").split("/")[0] in SERVED
    ]


def _count(text: str) -> int:
    return int(text.replace(",", "").strip() or 0)


def _catalogue_row(cells: list[str]) -> dict[str, Any] | None:
    cells = [c.strip() for c in cells]
    if len(cells) < 10 or not cells[0].isdigit():
        return None
    found = re.fullmatch(r"(\S+)\s*\((\w+)\)", cells[1])
    name, database = (found.group(1), found.group(2)) if found else (cells[1], cells[7])
    return {
        "id": int(cells[0]),
        "name": name,
        "database": database,
        "type": cells[2],
        "input_count": _count(cells[3]),
        "output_count": _count(cells[4]),
        "row_limit": _count(cells[5]),
        "module_group": cells[8],
        "module": cells[9],
    }


def _catalogue_rows(text: str) -> list[dict[str, Any]]:
    rows = []
    for line in text.splitlines():
        cells = line.strip().strip("|").split("|") if line.startswith("|") else line.split("\t")
        row = _catalogue_row(cells)
        if row is not None:
            rows.append(row)
    return rows


SQL_TYPES = (
    "int",
    "smallint",
    "bit",
    "datetime",
    "varchar",
    "decimal",
    "bigint",
    "nvarchar",
    "uniqueidentifier",
)


def published_metadata(text: str) -> dict[int, dict[str, Any]]:
    """The per-source metadata pages: `ID<n>`, `Data Source Name<name> (<db>)`, input and output rows."""
    found: dict[int, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    section = ""
    for line in text.splitlines():
        if match := re.fullmatch(r"ID(\d+)", line.strip()):
            current = found.setdefault(int(match.group(1)), {"inputs": [], "columns": []})
            section = ""
        elif current is not None and line.startswith("Data Source Name"):
            named = re.fullmatch(r"Data Source Name(\S+)\s*\((\w+)\)", line.strip())
            if named:
                current["name"], current["database"] = named.group(1), named.group(2)
        elif line.startswith("Input Parameters"):
            section = "inputs"
        elif line.startswith("Output Data"):
            section = "columns"
        elif current is not None and section and "\t" in line:
            cells = [c.strip() for c in line.split("\t")]
            if cells[1] not in SQL_TYPES:
                continue
            if section == "inputs":
                current["inputs"].append([cells[0], cells[1], cells[2:3] == ["Yes"]])
            else:
                current["columns"].append([cells[0], cells[1]])
    return found


def datasource_catalogue(reference: Path) -> list[dict[str, Any]]:
    folder = reference / "plex_datasources"
    by_id: dict[int, dict[str, Any]] = {}
    for name in ("plex-datasource-list.md", "plex-datasource-api-quality-selfserviceable.md"):
        for row in _catalogue_rows((folder / name).read_text()):
            by_id.setdefault(row["id"], row)  # the full list first; the self-serviceable extract repeats it
    for source_id, meta in published_metadata(
        (folder / "plex-datasources-api-performance-oee.md").read_text()
    ).items():
        row = by_id.setdefault(
            source_id,
            {
                "id": source_id,
                "name": meta["name"],
                "database": meta["database"],
                "type": "Stored Procedure",
                "row_limit": 1000,
                "module_group": None,
                "module": None,
            },
        )
        row["input_count"], row["output_count"] = len(meta["inputs"]), len(meta["columns"])
        row["inputs"], row["columns"] = meta["inputs"], meta["columns"]
    return sorted(by_id.values(), key=lambda r: r["id"])


def dump(rows: list[dict[str, Any]], target: Path) -> None:
    """One record per line: small diffs when Plex's documents change."""
    lines = ",\n".join(json.dumps(row, separators=(",", ":")) for row in rows)
    target.write_text(f"[\n{lines}\n]\n")


def main() -> None:
    reference = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "reference"
    routes = connect_catalogue(reference)
    sources = datasource_catalogue(reference)
    dump(routes, OUT / "connect_catalogue.json")
    dump(sources, OUT / "datasource_catalogue.json")
    print(f"{len(routes)} GET routes, {len(sources)} data sources")


if __name__ == "__main__":
    main()
