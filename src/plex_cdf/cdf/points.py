"""Datapoints as CDF insert items: made valid, latest-only reduced to its latest point, and packed into
calls of at most 10,000 series and 100,000 points (a longer series is split across calls, never repeated
within one, which CDF refuses)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from plex_cdf.cdf.limits import Alterations, fit_external_id, fit_point
from plex_cdf.cdf.plan import Planned, chunks
from plex_cdf.cdf.transport import Json
from plex_cdf.items import Datapoints

SERIES_PER_CALL = 10_000
POINTS_PER_CALL = 100_000


def datapoints_body(item: Datapoints, alterations: Alterations) -> Json:
    points = sorted(item.points, key=lambda p: p[0])
    if item.latest_only:
        points = points[-1:]
    fitted = [p for t, v in points if (p := fit_point(t, v, alterations)) is not None]
    return {
        "externalId": fit_external_id(item.external_id),
        "datapoints": [{"timestamp": t, "value": v} for t, v in fitted],
    }


def datapoint_batches(planned: list[Planned[Datapoints]]) -> list[list[Planned[Datapoints]]]:
    batches: list[list[Planned[Datapoints]]] = [[]]
    points = 0
    for entry in planned:
        for part in chunks(entry.body["datapoints"], POINTS_PER_CALL):
            if len(batches[-1]) >= SERIES_PER_CALL or points + len(part) > POINTS_PER_CALL:
                batches.append([])
                points = 0
            batches[-1].append(replace(entry, body={**entry.body, "datapoints": list(part)}))
            points += len(part)
    return [b for b in batches if b]


def merged_by_series(bodies: Iterable[Json]) -> list[Json]:
    """One request item per series: CDF refuses a series named twice in one request, and one series'
    segments (its points from several date windows) often travel together."""
    merged: dict[str, Json] = {}
    for body in bodies:
        xid = str(body["externalId"])
        if xid in merged:
            merged[xid] = {**merged[xid], "datapoints": [*merged[xid]["datapoints"], *body["datapoints"]]}
        else:
            merged[xid] = body
    return list(merged.values())
