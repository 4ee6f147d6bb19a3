"""CDF's field limits per resource, as data, and the check that answers 400 with CDF-shaped messages.

String lengths are in characters, metadata sizes in UTF-8 bytes (as CDF documents them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plex_cdf.sim.cdf.errors import Json, bad_request

EXTERNAL_ID_MAX = 255


@dataclass(frozen=True, slots=True)
class MetadataLimits:
    max_keys: int = 256
    key_bytes: int = 128
    value_bytes: int = 10_240
    total_bytes: int = 10_240


@dataclass(frozen=True, slots=True)
class Limits:
    """Maximum string lengths (characters) per field, and the metadata limits."""

    strings: Mapping[str, int] = field(default_factory=dict)
    metadata: MetadataLimits = MetadataLimits()
    required: tuple[str, ...] = ()


ASSETS = Limits(
    strings={"externalId": EXTERNAL_ID_MAX, "name": 140, "description": 500, "source": 128},
    required=("name",),
)
EVENTS = Limits(
    strings={"externalId": EXTERNAL_ID_MAX, "type": 64, "subtype": 64, "description": 500, "source": 128},
    metadata=MetadataLimits(value_bytes=128_000, total_bytes=200_000),
)
TIME_SERIES = Limits(
    strings={
        "externalId": EXTERNAL_ID_MAX,
        "name": 255,
        "description": 1000,
        "unit": 32,
        "unitExternalId": 256,
    },
    metadata=MetadataLimits(value_bytes=10_000, total_bytes=10_000),
)
DATA_SETS = Limits(strings={"externalId": EXTERNAL_ID_MAX, "name": 50, "description": 500})
RELATIONSHIPS = Limits(
    strings={"externalId": EXTERNAL_ID_MAX, "sourceExternalId": 255, "targetExternalId": 255},
    required=("externalId", "sourceExternalId", "sourceType", "targetExternalId", "targetType"),
)
# Relationship end types, by their lower-case spelling, as CDF spells them in answers.
RELATIONSHIP_TYPES: Mapping[str, str] = {
    "asset": "asset",
    "timeseries": "timeSeries",
    "file": "file",
    "event": "event",
    "sequence": "sequence",
}
EXTPIPES = Limits(
    strings={"externalId": EXTERNAL_ID_MAX, "name": 140, "description": 500, "source": 255},
    required=("externalId", "name", "dataSetId"),
)


INTEGER_FIELDS = frozenset(
    {"startTime", "endTime", "dataSetId", "parentId", "assetId", "createdTime", "lastUpdatedTime"}
)
BOOLEAN_FIELDS = frozenset({"isString", "isStep", "writeProtected"})
INTEGER_LIST_FIELDS = frozenset({"assetIds", "securityCategories"})


def check_item(limits: Limits, item: Json, index: int) -> None:
    """Raise 400 naming `items[index].field` when one field breaks CDF's types or limits."""
    where = f"items[{index}]"
    for name in limits.required:
        if item.get(name) is None:
            raise bad_request(f"{where}.{name}: may not be null")
    _check_types(item, where)
    for name, max_len in limits.strings.items():
        value = item.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise bad_request(f"{where}.{name}: expected a string, got {type(value).__name__}")
        if not 1 <= len(value) <= max_len:
            raise bad_request(f"{where}.{name}: size must be between 1 and {max_len}")
    external_id = item.get("externalId")
    if isinstance(external_id, str) and external_id != external_id.strip():
        raise bad_request(f"{where}.externalId: must not start or end with whitespace")
    _check_relationship_types(item, where)
    start, end = item.get("startTime"), item.get("endTime")
    if start is not None and end is not None and end < start:
        raise bad_request(f"{where}.endTime: must be greater than or equal to startTime")
    metadata = item.get("metadata")
    if metadata is not None:
        check_metadata(limits.metadata, metadata, index)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_types(item: Json, where: str) -> None:
    """Ids and times are integers (an external id where an internal id belongs is refused, as CDF does)."""
    for name, value in item.items():
        if value is None:
            continue
        if name in INTEGER_FIELDS and not _is_integer(value):
            raise bad_request(f"{where}.{name}: expected an integer, got {value!r:.60}")
        if name in BOOLEAN_FIELDS and not isinstance(value, bool):
            raise bad_request(f"{where}.{name}: expected true or false, got {value!r:.60}")
        if name in INTEGER_LIST_FIELDS and (
            not isinstance(value, list) or not all(_is_integer(v) for v in value)
        ):
            raise bad_request(f"{where}.{name}: expected a list of integer ids, got {value!r:.60}")


def _check_relationship_types(item: Json, where: str) -> None:
    for name in ("sourceType", "targetType"):
        kind = item.get(name)
        if kind is not None and (not isinstance(kind, str) or kind.lower() not in RELATIONSHIP_TYPES):
            raise bad_request(f"{where}.{name}: must be one of asset, timeSeries, file, event, sequence")


def check_metadata(limits: MetadataLimits, metadata: Any, index: int) -> None:
    """Metadata is a flat string map within key count, key, value and total byte limits."""
    where = f"items[{index}].metadata"
    if not isinstance(metadata, dict):
        raise bad_request(f"{where}: expected an object of string values")
    if len(metadata) > limits.max_keys:
        raise bad_request(f"{where}: must have at most {limits.max_keys} keys, got {len(metadata)}")
    total = 0
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise bad_request(f"{where}.{key}: metadata values must be strings")
        key_bytes, value_bytes = len(key.encode()), len(value.encode())
        if key_bytes > limits.key_bytes:
            raise bad_request(f"{where}: key {key[:40]!r} exceeds {limits.key_bytes} bytes")
        if value_bytes > limits.value_bytes:
            raise bad_request(f"{where}.{key}: value exceeds {limits.value_bytes} bytes")
        total += key_bytes + value_bytes
    if total > limits.total_bytes:
        raise bad_request(f"{where}: total size {total} bytes exceeds {limits.total_bytes} bytes")
