"""A series' points from several windows travel in one request item: CDF refuses a series named twice."""

from plex_cdf.cdf.points import merged_by_series


def test_segments_of_one_series_merge_into_one_request_item() -> None:
    bodies = [
        {"externalId": "a", "datapoints": [{"timestamp": 1, "value": 1.0}]},
        {"externalId": "b", "datapoints": [{"timestamp": 1, "value": 7.0}]},
        {"externalId": "a", "datapoints": [{"timestamp": 2, "value": 2.0}]},
    ]
    merged = merged_by_series(bodies)
    assert [m["externalId"] for m in merged] == ["a", "b"]
    assert merged[0]["datapoints"] == [{"timestamp": 1, "value": 1.0}, {"timestamp": 2, "value": 2.0}]
    assert bodies[0]["datapoints"] == [{"timestamp": 1, "value": 1.0}], (
        "the entries' own bodies stay as they were"
    )
