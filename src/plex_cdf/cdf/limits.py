"""CDF's limits made explicit: every item is cut to fit before it is sent, and every cut is counted.

Limits are data (one row per resource kind), in characters unless the name says bytes. Texts are cut on
UTF-8 character boundaries. Over-long external ids become a readable prefix plus a stable hash, the same
for every reference to them, so links still meet.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

MAX_EXTERNAL_ID = 255
TIMESTAMP_MIN_MS = -2_208_988_800_000  # 1900-01-01T00:00:00Z
TIMESTAMP_MAX_MS = 4_102_444_799_999  # 2099-12-31T23:59:59.999Z
VALUE_ABS_MAX = 1e100
STRING_VALUE_MAX_BYTES = 1023
RAW_KEY_MAX = 1024


@dataclass(frozen=True)
class MetadataLimits:
    key_bytes: int
    value_bytes: int
    pairs: int
    total_bytes: int


@dataclass(frozen=True)
class KindLimits:
    name: int
    description: int
    source: int
    metadata: MetadataLimits


LIMITS: Mapping[str, KindLimits] = {
    "asset": KindLimits(
        name=140, description=500, source=128, metadata=MetadataLimits(128, 10240, 256, 10240)
    ),
    "event": KindLimits(
        name=0, description=500, source=128, metadata=MetadataLimits(128, 128000, 256, 200000)
    ),
    "timeseries": KindLimits(
        name=255, description=1000, source=0, metadata=MetadataLimits(128, 10000, 256, 10000)
    ),
}
EVENT_TYPE_MAX = 64
UNIT_MAX = 32


class Alterations(Counter[str]):
    """How many times each kind of cut was made, e.g. `asset.name`, `event.metadata.value`."""


def cut_text(text: str, max_bytes: int) -> str:
    """The longest prefix of `text` whose UTF-8 encoding fits `max_bytes` bytes."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def fit_external_id(external_id: str) -> str:
    """Unchanged when it fits; else a prefix and a 32-hex-digit sha256 of the whole id (255 chars)."""
    if len(external_id) <= MAX_EXTERNAL_ID:
        return external_id
    digest = hashlib.sha256(external_id.encode("utf-8")).hexdigest()[:32]
    return f"{external_id[: MAX_EXTERNAL_ID - 33]}~{digest}"


def fit_external_id_counted(external_id: str, kind: str, alterations: Alterations) -> str:
    fitted = fit_external_id(external_id)
    if fitted != external_id:
        alterations[f"{kind}.external_id"] += 1
    return fitted


def fit_chars(text: str, limit: int, what: str, alterations: Alterations) -> str:
    if len(text) <= limit:
        return text
    alterations[what] += 1
    return text[:limit]


def fit_optional(text: str | None, limit: int, what: str, alterations: Alterations) -> str | None:
    return None if text is None else fit_chars(text, limit, what, alterations)


def fit_metadata(
    metadata: Mapping[str, str], limits: MetadataLimits, kind: str, alterations: Alterations
) -> dict[str, str]:
    """Keys and values cut to size; pairs past the count or total-size limit dropped (sorted by key, so
    the same pairs survive every run)."""
    if _surely_fits(metadata, limits):
        return {key: value if type(value) is str else str(value) for key, value in metadata.items()}
    out: dict[str, str] = {}
    total = 0
    for key in sorted(metadata):
        value = str(metadata[key])
        fitted_key = cut_text(key, limits.key_bytes)
        fitted_value = cut_text(value, limits.value_bytes)
        if fitted_key != key:
            alterations[f"{kind}.metadata.key"] += 1
        if fitted_value != value:
            alterations[f"{kind}.metadata.value"] += 1
        size = len(fitted_key.encode("utf-8")) + len(fitted_value.encode("utf-8"))
        if len(out) >= limits.pairs or total + size > limits.total_bytes or fitted_key in out:
            alterations[f"{kind}.metadata.dropped"] += 1
            continue
        out[fitted_key] = fitted_value
        total += size
    return out


def _surely_fits(metadata: Mapping[str, str], limits: MetadataLimits) -> bool:
    """A cheap bound (a character is at most 4 UTF-8 bytes) that settles the common small case (it runs
    for every asset and event, so the limits are divided once, not each length multiplied)."""
    if len(metadata) > limits.pairs:
        return False
    key_chars, value_chars = limits.key_bytes // 4, limits.value_bytes // 4
    total = 0
    for key, value in metadata.items():
        key_length, value_length = len(key), len(value if type(value) is str else str(value))
        if key_length > key_chars or value_length > value_chars:
            return False
        total += key_length + value_length
    return total * 4 <= limits.total_bytes


def fit_point(timestamp: int, value: float | str, alterations: Alterations) -> tuple[int, float | str] | None:
    """A datapoint CDF accepts, or None (counted) when it cannot be made valid."""
    if not TIMESTAMP_MIN_MS <= timestamp <= TIMESTAMP_MAX_MS:
        alterations["datapoint.timestamp_dropped"] += 1
        return None
    if isinstance(value, str):
        fitted = cut_text(value, STRING_VALUE_MAX_BYTES)
        if fitted != value:
            alterations["datapoint.string_cut"] += 1
        return timestamp, fitted
    if not math.isfinite(value):
        alterations["datapoint.value_dropped"] += 1
        return None
    if abs(value) > VALUE_ABS_MAX:
        alterations["datapoint.value_clamped"] += 1
        return timestamp, math.copysign(VALUE_ABS_MAX, value)
    return timestamp, value
