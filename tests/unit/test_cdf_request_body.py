"""The writer encodes CDF request bodies itself (compact JSON, gzip level 1): what CDF receives must be the
same JSON the SDK would have sent, and a number JSON cannot carry is refused, not sent as something else."""

from __future__ import annotations

import gzip
import json
import math

import pytest
from cognite.client import global_config

from plex_cdf.cdf.transport import encoded

BODY = {"items": [{"externalId": "PCN1_wc_WC-1", "metadata": {"plexId": "a"}, "value": 1.5, "n": None}]}


def test_the_body_is_gzipped_json_equal_to_what_was_given() -> None:
    content, headers = encoded(BODY)
    assert headers == {"Content-Encoding": "gzip"}
    assert json.loads(gzip.decompress(content)) == BODY


def test_nan_and_infinity_are_refused_before_anything_is_sent() -> None:
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="NaN or an infinity"):
            encoded({"items": [{"value": bad}]})


def test_nan_is_refused_wherever_it_sits_not_written_as_null() -> None:
    # orjson, the fast encoder, writes NaN as null; the body must be refused instead
    deep = {"items": [{"sources": [{"properties": {"values": [1.0, {"x": math.nan}]}}]}]}
    with pytest.raises(ValueError, match="NaN or an infinity"):
        encoded(deep)


@pytest.mark.parametrize(
    "body",
    [
        {"items": [{"name": "Präzisionsteil ✓", "description": "null and void", "id": 2**70}]},
        {"items": [{"metadata": {"note": "a lone surrogate \ud800"}}]},
        {"items": [{"value": -0.0, "big": 1e308, "small": 5e-324, "flag": False}]},
    ],
    ids=["text-and-a-64-bit-overflow", "surrogate", "float-edges"],
)
def test_what_cdf_receives_decodes_to_what_the_standard_encoder_would_have_sent(
    body: dict[str, object],
) -> None:
    content, _ = encoded(body)
    sent = json.loads(gzip.decompress(content))
    assert sent == json.loads(json.dumps(body, allow_nan=False))


def test_the_sdk_switch_that_turns_gzip_off_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(global_config, "disable_gzip", True)
    content, headers = encoded(BODY)
    assert headers == {}
    assert json.loads(content) == BODY
