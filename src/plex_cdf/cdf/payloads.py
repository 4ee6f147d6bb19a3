"""Items to CDF request bodies (camelCase dicts), already cut to CDF's limits.

An update is always a *replace* built from the same create body: every updatable field is set, and one the
item no longer has is cleared (`setNull`, `{}` or `[]`), so a field removed in Plex is removed in CDF.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from plex_cdf.cdf.limits import (
    EVENT_TYPE_MAX,
    LIMITS,
    UNIT_MAX,
    Alterations,
    fit_chars,
    fit_external_id,
    fit_external_id_counted,
    fit_metadata,
    fit_optional,
)
from plex_cdf.items import Asset, Event, Relationship, TimeSeries

Json = dict[str, Any]
Shape = Literal["scalar", "nullable", "object", "list"]

# Per kind: the fields an update may touch and how "absent" is written.
UPDATABLE: Mapping[str, Mapping[str, Shape]] = {
    "asset": {
        "name": "scalar",
        "description": "nullable",
        "metadata": "object",
        "source": "nullable",
        "dataSetId": "nullable",
        "parentExternalId": "scalar",
    },
    "event": {
        "type": "nullable",
        "subtype": "nullable",
        "startTime": "nullable",
        "endTime": "nullable",
        "description": "nullable",
        "metadata": "object",
        "assetIds": "list",
        "source": "nullable",
        "dataSetId": "nullable",
    },
    "timeseries": {
        "name": "nullable",
        "description": "nullable",
        "metadata": "object",
        "unit": "nullable",
        "assetId": "nullable",
        "isStep": "scalar",
        "dataSetId": "nullable",
    },
    "relationship": {
        "sourceExternalId": "scalar",
        "sourceType": "scalar",
        "targetExternalId": "scalar",
        "targetType": "scalar",
        "startTime": "nullable",
        "endTime": "nullable",
        "confidence": "nullable",
        "labels": "list",
        "dataSetId": "nullable",
    },
}


def _without_nones(body: Json) -> Json:
    return {k: v for k, v in body.items() if v is not None}


def asset_body(asset: Asset, data_set_id: int | None, alterations: Alterations) -> Json:
    limits = LIMITS["asset"]
    name = asset.name
    if not name.strip():
        alterations["asset.name_empty"] += 1
        name = asset.external_id
    return _without_nones(
        {
            "externalId": fit_external_id_counted(asset.external_id, "asset", alterations),
            "name": fit_chars(name, limits.name, "asset.name", alterations),
            "parentExternalId": fit_external_id(asset.parent_external_id)
            if asset.parent_external_id
            else None,
            "description": fit_optional(
                asset.description, limits.description, "asset.description", alterations
            ),
            "metadata": fit_metadata(asset.metadata, limits.metadata, "asset", alterations),
            "source": fit_optional(asset.source, limits.source, "asset.source", alterations),
            "dataSetId": data_set_id,
        }
    )


def event_body(
    event: Event, data_set_id: int | None, asset_ids: Sequence[int], alterations: Alterations
) -> Json:
    limits = LIMITS["event"]
    start, end = event.start_time, event.end_time
    if start is not None and end is not None and end < start:
        alterations["event.end_before_start"] += 1
        end = start
    return _without_nones(
        {
            "externalId": fit_external_id_counted(event.external_id, "event", alterations),
            "type": fit_chars(event.type, EVENT_TYPE_MAX, "event.type", alterations),
            "subtype": fit_optional(event.subtype, EVENT_TYPE_MAX, "event.subtype", alterations),
            "startTime": start,
            "endTime": end,
            "description": fit_optional(
                event.description, limits.description, "event.description", alterations
            ),
            "metadata": fit_metadata(event.metadata, limits.metadata, "event", alterations),
            "assetIds": sorted(set(asset_ids)),
            "source": fit_optional(event.source, limits.source, "event.source", alterations),
            "dataSetId": data_set_id,
        }
    )


def time_series_body(
    series: TimeSeries, data_set_id: int | None, asset_id: int | None, alterations: Alterations
) -> Json:
    limits = LIMITS["timeseries"]
    return _without_nones(
        {
            "externalId": fit_external_id_counted(series.external_id, "timeseries", alterations),
            "name": fit_chars(series.name, limits.name, "timeseries.name", alterations),
            "description": fit_optional(
                series.description, limits.description, "timeseries.description", alterations
            ),
            "metadata": fit_metadata(series.metadata, limits.metadata, "timeseries", alterations),
            "unit": fit_optional(series.unit, UNIT_MAX, "timeseries.unit", alterations),
            "assetId": asset_id,
            "isStep": series.is_step,
            "isString": series.is_string,
            "dataSetId": data_set_id,
        }
    )


def relationship_body(relationship: Relationship, data_set_id: int | None, alterations: Alterations) -> Json:
    return _without_nones(
        {
            "externalId": fit_external_id_counted(relationship.external_id, "relationship", alterations),
            "sourceExternalId": fit_external_id(relationship.source_external_id),
            "sourceType": relationship.source_type,
            "targetExternalId": fit_external_id(relationship.target_external_id),
            "targetType": relationship.target_type,
            "startTime": relationship.start_time,
            "endTime": relationship.end_time,
            "confidence": relationship.confidence,
            "labels": [{"externalId": label} for label in relationship.labels] or None,
            "dataSetId": data_set_id,
        }
    )


def replace_update(kind: str, body: Json) -> Json:
    """The `/update` item that makes CDF hold exactly `body`: set what is there, clear what is not."""
    update: Json = {}
    for name, shape in UPDATABLE[kind].items():
        value = body.get(name)
        if value is not None:
            update[name] = {"set": value}
        elif shape == "nullable":
            update[name] = {"setNull": True}
        elif shape == "object":
            update[name] = {"set": {}}
        elif shape == "list":
            update[name] = {"set": []}
    return {"externalId": body["externalId"], "update": update}
