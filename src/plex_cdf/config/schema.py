"""The published JSON schema of the configuration file; `scripts/regenerate_config_schema.py` rewrites
docs/config.schema.json from it (a test fails when the two drift apart)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from plex_cdf.config.models import Config

SCHEMA_ID = "https://github.com/plex-cdf/plex-cdf/docs/config.schema.json"
DEFAULT_SCHEMA_PATH = Path("docs/config.schema.json")


# A value that is a `${VAR}` reference is valid wherever one value goes: it is text until substituted.
REFERENCE = {"type": "string", "pattern": r"\$\{[A-Za-z_][A-Za-z0-9_]*\}"}
_KEPT_OUTSIDE = ("title", "description", "default")


def json_schema() -> dict[str, Any]:
    """The schema of the YAML file (hyphen-case keys, as written), for editors and validators."""
    schema = Config.model_json_schema(by_alias=True, mode="validation")
    for definition in [schema, *schema.get("$defs", {}).values()]:
        properties = definition.get("properties", {})
        for key, value in properties.items():
            properties[key] = _accepting_references(value)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "plex-cdf configuration",
    }


def _accepting_references(value: dict[str, Any]) -> dict[str, Any]:
    """A single value's schema that also accepts `${VAR}`; sections, lists and free text stay as they are."""
    text = json.dumps(value)
    free_text = value.get("type") == "string" and not value.keys() & {"pattern", "enum", "format"}
    if free_text or '"$ref"' in text or '"array"' in text:
        return value
    outside = {k: value[k] for k in _KEPT_OUTSIDE if k in value}
    inside = {k: v for k, v in value.items() if k not in _KEPT_OUTSIDE}
    return {**outside, "anyOf": [inside, REFERENCE]}


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else DEFAULT_SCHEMA_PATH
    target.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {target}")
