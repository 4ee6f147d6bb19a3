"""The CDF objects a transform produces: plain, immutable, I/O-free.

Transforms (in `domains/`) turn one Plex record into some of these; the writer (in `cdf/`) turns them into
CDF requests. Links between objects are by external id only; the writer resolves internal ids.
Times are milliseconds since the Unix epoch, UTC. `data_set` is a data-set *key* (see `DATA_SETS`), which
configuration maps to a CDF data set id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

DataSetKey = Literal["master", "scheduling", "production", "inventory", "quality", "maintenance"]
DATA_SETS: tuple[DataSetKey, ...] = (
    "master",
    "scheduling",
    "production",
    "inventory",
    "quality",
    "maintenance",
)

SOURCE = "plex"

# Event metadata keys the product makes (not Plex field names) that a target may carry as typed fields: an
# activity's planned start and end (ISO 8601, UTC, milliseconds) and, on a job operation's event, the
# external id of its job's event. The classic target keeps them as metadata; the data-modeling target
# promotes them to CogniteSchedulable's `scheduledStartTime`/`scheduledEndTime` and to the operation's `job`
# direct relation.
SCHEDULED_START_KEY = "scheduledStartTime"
SCHEDULED_END_KEY = "scheduledEndTime"
JOB_KEY = "jobExternalId"


@dataclass(frozen=True, slots=True)
class Asset:
    external_id: str
    name: str
    parent_external_id: str | None  # None only for the facility root
    data_set: DataSetKey
    description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    source: str = SOURCE


@dataclass(frozen=True, slots=True)
class Event:
    external_id: str
    data_set: DataSetKey
    type: str
    subtype: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    asset_external_ids: tuple[str, ...] = ()
    source: str = SOURCE


@dataclass(frozen=True, slots=True)
class TimeSeries:
    external_id: str
    name: str
    data_set: DataSetKey
    asset_external_id: str | None = None
    is_step: bool = False
    is_string: bool = False
    unit: str | None = None
    description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Datapoints:
    """Points for one time series (by external id); the series itself must be produced too."""

    external_id: str
    points: tuple[tuple[int, float | str], ...]
    # A sampled current value (e.g. a workcenter's status now): written only when the value differs from
    # the last one written for this series, whatever its timestamp.
    latest_only: bool = False
    # Which slice of the series these points are, e.g. the date window they were computed over: change
    # detection is per series and segment, so each window's points are compared with that window's.
    segment: str = ""


@dataclass(frozen=True, slots=True)
class Relationship:
    external_id: str
    source_external_id: str
    target_external_id: str
    data_set: DataSetKey
    source_type: Literal["asset", "event", "timeSeries"] = "asset"
    target_type: Literal["asset", "event", "timeSeries"] = "asset"
    start_time: int | None = None
    end_time: int | None = None
    confidence: float | None = None
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RawRow:
    """A raw copy of one Plex record; the database is per PCN, the table per resource."""

    table: str
    key: str
    columns: Mapping[str, object]


Item = Asset | Event | TimeSeries | Datapoints | Relationship | RawRow


def identity(item: Item) -> tuple[str, str, str]:
    """What makes two items the same write: kind, what names it in CDF, and the slice (a RAW row's table,
    the window points were computed over)."""
    if isinstance(item, RawRow):
        return ("RawRow", item.key, item.table)
    if isinstance(item, Datapoints):
        return ("Datapoints", item.external_id, item.segment)
    return (type(item).__name__, item.external_id, "")


def item_id(item: Item) -> str:
    """What names an item in CDF: its external id (a series' for points), or a RAW row's key."""
    return item.key if isinstance(item, RawRow) else item.external_id
