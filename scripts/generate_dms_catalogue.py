"""Write the local CDF's catalogue of CDF's system data models from the installed cognite-sdk's typed classes.

    .venv/bin/python scripts/generate_dms_catalogue.py

The typed classes in `cognite.client.data_classes.data_modeling.cdm.v1` and `extractor_extensions.v1` mirror
the views CDF serves in `cdf_cdm` and `cdf_extraction_extensions`: their property identifiers, Python types
and required arguments give each view's properties, types and nullability. What they do not carry (which
view a direct relation points to, the reverse relations, which views are interfaces) is the small table
below. The local CDF loads the JSON this writes; it never imports the SDK to learn its models.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import types
import typing
from pathlib import Path
from typing import Any

from cognite.client.data_classes.data_modeling import DirectRelationReference
from cognite.client.data_classes.data_modeling.cdm import v1 as cdm
from cognite.client.data_classes.data_modeling.data_types import StateSetEntry
from cognite.client.data_classes.data_modeling.extractor_extensions import v1 as ext
from cognite.client.data_classes.data_modeling.instances import (
    _RESERVED_PROPERTY_CONFLICT_PREFIX,
    PropertyOptions,
    TypedEdge,
    TypedNode,
)

OUT = Path(__file__).resolve().parents[1] / "src/plex_cdf/sim/cdf/dms/system_models.json"
CDM, EXT, UNITS = "cdf_cdm", "cdf_extraction_extensions", "cdf_cdm_units"
BASE_ARGS = {
    "space",
    "external_id",
    "version",
    "last_updated_time",
    "created_time",
    "deleted_time",
    "type",
    "start_node",
    "end_node",
    "existing_version",
}
# Views other views implement (CDF's "features"); a view implements each whose properties it all has.
INTERFACES = {
    CDM: ("CogniteDescribable", "CogniteSourceable", "CogniteVisualizable", "CogniteSchedulable"),
    EXT: ("CogniteExtractorData",),
}
# Extension views implement the core view they extend.
EXTENDS = {"CogniteExtractorTimeSeries": "CogniteTimeSeries", "CogniteExtractorFile": "CogniteFile"}
# Where CDM's direct relations point (the view in their `source`), as documented for the core data model.
DIRECT_TARGETS = {
    "parent": "CogniteAsset",
    "root": "CogniteAsset",
    "path": "CogniteAsset",
    "assets": "CogniteAsset",
    "asset": "CogniteAsset",
    "equipment": "CogniteEquipment",
    "timeSeries": "CogniteTimeSeries",
    "source": "CogniteSourceSystem",
    "assetClass": "CogniteAssetClass",
    "equipmentType": "CogniteEquipmentType",
    "unit": "CogniteUnit",
    "stateSet": "CogniteStateSet",
    "files": "CogniteFile",
    "category": "CogniteFileCategory",
}
TYPE_TARGETS = {"CogniteAsset": "CogniteAssetType"}  # `type` on CogniteAsset is its asset type
# Reverse direct relations: (view, property) -> (connection type, source view, through property).
REVERSE = {
    ("CogniteAsset", "children"): ("multi_reverse_direct_relation", "CogniteAsset", "parent"),
    ("CogniteAsset", "equipment"): ("multi_reverse_direct_relation", "CogniteEquipment", "asset"),
    ("CogniteAsset", "activities"): ("multi_reverse_direct_relation", "CogniteActivity", "assets"),
    ("CogniteAsset", "timeSeries"): ("multi_reverse_direct_relation", "CogniteTimeSeries", "assets"),
    ("CogniteAsset", "files"): ("multi_reverse_direct_relation", "CogniteFile", "assets"),
    ("CogniteEquipment", "activities"): ("multi_reverse_direct_relation", "CogniteActivity", "equipment"),
    ("CogniteEquipment", "timeSeries"): ("multi_reverse_direct_relation", "CogniteTimeSeries", "equipment"),
    ("CogniteTimeSeries", "activities"): ("multi_reverse_direct_relation", "CogniteActivity", "timeSeries"),
}
# The unit catalogue's entries the product needs, as CDF's unit catalogue has them
# (github.com/cognitedata/units-catalog, versions/v1/units.json):
# (externalId, name, longName, symbol, quantity, sourceReference). It has no count quantity: pieces are
# dimensionless numbers. As cdf_cdm_units nodes: name, description (the longName), symbol, quantity, source
# and sourceReference.
UNIT_NODES = (
    ("dimensionless:num", "NUM", "Number", "#", "Dimensionless", "https://qudt.org/vocab/unit/NUM"),
    (
        "dimensionless:unitless",
        "UNITLESS",
        "Unitless",
        "",
        "Dimensionless",
        "https://qudt.org/vocab/unit/UNITLESS",
    ),
    (
        "dimensionless_ratio:percent",
        "PERCENT",
        "Percent",
        "%",
        "Dimensionless Ratio",
        "https://qudt.org/vocab/unit/PERCENT",
    ),
    ("time:sec", "SEC", "Second", "s", "Time", "https://qudt.org/vocab/unit/SEC"),
    ("time:min", "MIN", "Minute", "min", "Time", "https://qudt.org/vocab/unit/MIN"),
    ("time:hr", "HR", "Hour", "h", "Time", "https://qudt.org/vocab/unit/HR"),
    ("mass:kilogm", "KiloGM", "Kilogram", "kg", "Mass", "https://qudt.org/vocab/unit/KiloGM"),
    ("mass:lb", "LB", "Pound Mass", "lbm", "Mass", "https://qudt.org/vocab/unit/LB"),
    ("length:m", "M", "Meter", "m", "Length", "https://qudt.org/vocab/unit/M"),
    (
        "temperature:deg_c",
        "DEG_C",
        "Degree Celsius",
        "°C",
        "Temperature",
        "https://qudt.org/vocab/unit/DEG_C",
    ),
    (
        "dimensionless_ratio:fraction",
        "FRACTION",
        "Fraction",
        "",
        "Dimensionless Ratio",
        "https://qudt.org/vocab/unit/FRACTION",
    ),
    ("mass:gm", "GM", "Gram", "g", "Mass", "https://qudt.org/vocab/unit/GM"),
    ("mass:oz", "OZ", "Ounce Mass", "oz", "Mass", "https://qudt.org/vocab/unit/OZ"),
    ("length:millim", "MilliM", "Millimeter", "mm", "Length", "https://qudt.org/vocab/unit/MilliM"),
    ("length:centim", "CentiM", "Centimeter", "cm", "Length", "https://qudt.org/vocab/unit/CentiM"),
    ("length:in", "IN", "Inch", "in", "Length", "https://qudt.org/vocab/unit/IN"),
    ("length:ft", "FT", "Foot", "ft", "Length", "https://qudt.org/vocab/unit/FT"),
    ("volume:l", "L", "Liter", "L", "Volume", "https://qudt.org/vocab/unit/L"),
)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _identifiers(cls: type) -> dict[str, str]:
    """Python argument name -> property identifier, from the PropertyOptions the classes declare."""
    names: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if isinstance(value, PropertyOptions) and value.name:
                names[attr] = value.name.removeprefix(_RESERVED_PROPERTY_CONFLICT_PREFIX)
    return names


def _property_type(hint: Any, identifier: str) -> dict[str, Any]:
    args = [a for a in typing.get_args(hint) if a is not types.NoneType] if _is_union(hint) else [hint]
    args = [a for a in args if getattr(a, "__name__", "") != "Omitted" and a is not tuple]
    args = [a for a in args if typing.get_origin(a) is not tuple]
    is_list = False
    base = args[0]
    if typing.get_origin(base) is list:
        is_list, base = True, typing.get_args(base)[0]
        if _is_union(base):
            base = typing.get_args(base)[0]
    if typing.get_origin(base) is typing.Literal:
        return {"type": "enum", "values": {v: {} for v in typing.get_args(base)}}
    mapping: dict[Any, str] = {
        str: "text",
        int: "int64",
        float: "float64",
        bool: "boolean",
        dt.datetime: "timestamp",
        dt.date: "date",
        dict: "json",
        DirectRelationReference: "direct",
        StateSetEntry: "json",
    }
    origin = typing.get_origin(base) or base
    if origin not in mapping:
        raise SystemExit(f"no CDF type for {identifier}: {hint!r}")
    return {"type": mapping[origin], "list": is_list}


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _properties(read_cls: type, apply_cls: type | None) -> dict[str, dict[str, Any]]:
    names = _identifiers(read_cls)
    hints = typing.get_type_hints(read_cls.__init__, vars(inspect.getmodule(read_cls)))
    required: set[str] = set()
    if apply_cls is not None:
        for arg, param in inspect.signature(apply_cls.__init__).parameters.items():
            if param.default is inspect.Parameter.empty and arg not in BASE_ARGS | {"self"}:
                required.add(arg)
    props: dict[str, dict[str, Any]] = {}
    for arg in inspect.signature(read_cls.__init__).parameters:
        if arg in BASE_ARGS | {"self"}:
            continue
        identifier = names.get(arg, _camel(arg))
        props[identifier] = {"type": _property_type(hints[arg], identifier), "nullable": arg not in required}
    return props


def _views() -> dict[tuple[str, str], dict[str, Any]]:
    """(space, view) -> {"usedFor", "properties"} for every typed read class with a `get_source`."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for module in (cdm, ext):
        classes = [c for c in vars(module).values() if inspect.isclass(c) and c.__module__ == module.__name__]
        for cls in classes:
            if not issubclass(cls, TypedNode | TypedEdge) or not hasattr(cls, "get_source"):
                continue
            view = cls.get_source()
            apply_cls = next((c for c in classes if c.__name__ == cls.__name__ + "Apply"), None)
            kind = "edge" if issubclass(cls, TypedEdge) else "node"
            entry = found.setdefault(
                (view.space, view.external_id), {"usedFor": kind, "properties": {}, "version": view.version}
            )
            if entry["usedFor"] != kind:
                entry["usedFor"] = "all"
            entry["properties"].update(_properties(cls, apply_cls))
    return found


def _implements(space: str, name: str, props: dict[str, Any], views: dict[tuple[str, str], Any]) -> list[str]:
    candidates = [(space, i) for i in INTERFACES.get(space, ()) if i != name]
    found = [f"{s}:{v}" for s, v in candidates if set(views[(s, v)]["properties"]) <= set(props)]
    if name in EXTENDS:  # declared, not inferred: the SDK's extension classes omit some inherited fields
        found.append(f"{CDM}:{EXTENDS[name]}")
    return found


def _inherited(key: str, views: dict[tuple[str, str], Any], catalogue: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for parent in catalogue[key]["implements"]:
        out |= set(catalogue[parent]["properties"]) | _inherited(parent, views, catalogue)
    return out


def main() -> None:
    views = _views()
    catalogue: dict[str, Any] = {}
    for (space, name), entry in sorted(views.items()):
        catalogue[f"{space}:{name}"] = {
            "space": space,
            "externalId": name,
            "version": entry["version"],
            "usedFor": entry["usedFor"],
            "implements": _implements(space, name, entry["properties"], views),
            "properties": entry["properties"],
        }
    out_views = []
    for key, view in catalogue.items():
        inherited = _inherited(key, views, catalogue)
        own = {p: spec for p, spec in view["properties"].items() if p not in inherited}
        for prop, spec in own.items():
            if spec["type"]["type"] == "direct":
                target = TYPE_TARGETS.get(view["externalId"]) if prop == "type" else DIRECT_TARGETS.get(prop)
                if target:
                    spec["source"] = target
        reverse = {
            prop: {"connectionType": conn, "source": src, "through": through}
            for (v, prop), (conn, src, through) in REVERSE.items()
            if v == view["externalId"] and view["space"] == CDM
        }
        out_views.append({**view, "properties": own, "reverse": reverse})
    units = [
        {
            "externalId": xid,
            "name": name,
            "description": long_name,
            "symbol": symbol,
            "quantity": quantity,
            "source": "qudt.org",
            "sourceReference": reference,
        }
        for xid, name, long_name, symbol, quantity, reference in UNIT_NODES
    ]
    document = {
        "note": (
            "Generated by scripts/generate_dms_catalogue.py from cognite-sdk's typed classes; do not edit."
        ),
        "views": out_views,
        "dataModels": [{"space": CDM, "externalId": "CogniteCore", "version": "v1", "views": CDM}],
        "units": {"space": UNITS, "view": "CogniteUnit", "nodes": units},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(out_views)} views)")


if __name__ == "__main__":
    main()
