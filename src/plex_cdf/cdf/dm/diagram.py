"""docs/data-model.svg, drawn from `model` so it cannot drift: plex-cdf's views on the left (their own
properties and where their direct relations point), the CDM views they implement on the right.

`python -m plex_cdf.cdf.dm.diagram [path]` rewrites it; a unit test fails when the file and the model differ.
"""

from __future__ import annotations

import sys
from html import escape
from pathlib import Path

from plex_cdf.cdf.dm import model

DEFAULT_PATH = Path("docs/data-model.svg")
LINE = 16
LEFT_X, LEFT_W = 20, 430
RIGHT_X, RIGHT_W = 640, 260
GAP = 14
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def _lines(view: model.View) -> list[str]:
    own = [
        f"{prop.name}: {prop.kind}" + (f" -> {prop.target}" if prop.target else "")
        for name in view.containers
        for prop in model.CONTAINER_BY_NAME[name].properties
    ]
    relations = [f"{name} -> {target}" for name, target in view.relations.items()]
    kinds = [f"Plex kinds: {', '.join(view.kinds)}"] if view.kinds else []
    return own + relations + kinds


def _box(x: int, y: int, width: int, title: str, lines: list[str], fill: str) -> tuple[str, int]:
    height = LINE * (len(lines) + 1) + 10
    parts = [
        f'<rect x="{x}" y="{y}" width="{width}" height="{height}" rx="4" fill="{fill}" stroke="#333"/>',
        f'<text x="{x + 8}" y="{y + LINE}" font-weight="bold">{escape(title)}</text>',
    ]
    for index, line in enumerate(lines, start=2):
        parts.append(f'<text x="{x + 8}" y="{y + LINE * index}">{escape(line)}</text>')
    return "\n".join(parts), height


def _derived_lines() -> list[str]:
    """The nodes plex-cdf derives from the records, in the instance space (model's tables)."""
    classes = "|".join(c.kind for c in model.ASSET_CLASSES)
    types = ", ".join(f"{kind}: {field}" for kind, field in model.ASSET_TYPE_FIELD.items())
    return [
        f"{model.ASSET_CLASS_PREFIX}{{{classes}}}: CogniteAssetClass",
        f"{model.ASSET_TYPE_PREFIX}{{kind}}_{{value}}: CogniteAssetType -> assetClass ({types})",
        f"{model.EQUIPMENT_TYPE_PREFIX}{{{model.EQUIPMENT_TYPE_FIELD}}}: CogniteEquipmentType",
        f"{model.STATE_SET_ID}: CogniteStateSet of the series {', '.join(model.STATE_SERIES_KINDS)}",
    ]


def _property_lines() -> list[str]:
    """Where CDM properties come from: source times, units, edge quantities."""
    units: dict[str, list[str]] = {}
    for text, unit in model.UNIT_OF_SOURCE.items():
        units.setdefault(unit, []).append(text)
    return [
        f"sourceCreatedTime <- {', '.join(model.SOURCE_CREATED_FIELDS)}",
        f"sourceUpdatedTime <- {', '.join(model.SOURCE_UPDATED_FIELDS)}",
        f"bomLine edge: part -> component; quantity, unit, sequence <- {model.BOM_ROW_TABLE}"
        f" {model.BOM_QUANTITY_FIELD}, {model.BOM_UNIT_FIELD}, {model.BOM_SEQUENCE_FIELD}",
        f"routingStep edge: part -> {model.ROUTING_KIND}; sequence <- {model.ROUTING_SEQUENCE_FIELD}",
        f"unit -> {model.UNITS} (else sourceUnit only):",
        *(f"  {unit} <- {', '.join(texts)}" for unit, texts in units.items()),
    ]


def svg() -> str:
    """The whole diagram as SVG text (deterministic: same model, same bytes)."""
    targets: list[str] = []
    for view in model.VIEWS:
        for parent in view.implements:
            name = f"{parent.space}:{parent.external_id}"
            if name not in targets:
                targets.append(name)
    shapes: list[str] = []
    right_mid: dict[str, int] = {}
    y = 60
    for name in targets:
        shape, height = _box(RIGHT_X, y, RIGHT_W, name, [], "#eef3fb")
        shapes.append(shape)
        right_mid[name] = y + height // 2
        y += height + GAP * 3
    right_bottom = y
    edges: list[str] = []
    y = 60
    for view in model.VIEWS:
        title = f"{view.name} ({view.used_for}, {model.VERSION})"
        shape, height = _box(LEFT_X, y, LEFT_W, title, _lines(view), "#fdf6e3")
        shapes.append(shape)
        for index, parent in enumerate(view.implements):
            target = f"{parent.space}:{parent.external_id}"
            colour = COLOURS[targets.index(target) % len(COLOURS)]
            start_y = y + 10 + index * 6
            edges.append(
                f'<line x1="{LEFT_X + LEFT_W}" y1="{start_y}" x2="{RIGHT_X}" y2="{right_mid[target]}"'
                f' stroke="{colour}" stroke-width="1.2" marker-end="url(#arrow)"/>'
            )
        y += height + GAP
    y = max(y, right_bottom) + GAP
    width = RIGHT_X + RIGHT_W + 20
    for title, lines in (
        ("Nodes plex-cdf derives (instance space)", _derived_lines()),
        ("Where CDM properties come from", _property_lines()),
    ):
        shape, box_height = _box(LEFT_X, y, width - 2 * LEFT_X, title, lines, "#eef7ee")
        shapes.append(shape)
        y += box_height + GAP
    height = y + 20
    header = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7"'
        ' orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{LEFT_X}" y="30" font-size="16" font-weight="bold">'
        f"{escape(model.DATA_MODEL)} {model.VERSION}: plex-cdf views (schema space) implement Core Data Model"
        " views (arrows)</text>",
    ]
    return "\n".join([*header, *edges, *shapes, "</svg>"]) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else DEFAULT_PATH
    target.write_text(svg(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
