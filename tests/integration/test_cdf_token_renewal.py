"""After a CDF outage CDF may no longer accept the token the SDK cached (it answered 401 on every call until
the service was stopped): the token is renewed once on a 401, and a fresh token refused again is loud."""

from __future__ import annotations

import asyncio

import pytest

from plex_cdf.cdf.client import CdfAuthRefused, build_client
from plex_cdf.cdf.transport import SdkApi
from plex_cdf.sim.cdf.auth import TokenIssuer
from tests.integration.conftest import (
    LocalCdfHandle,
)

TOKEN_ROUTE = "POST /oauth2/token"


def api_for(local_cdf: LocalCdfHandle) -> SdkApi:
    return SdkApi(build_client(local_cdf.product_settings()))


def forget_every_token(local_cdf: LocalCdfHandle) -> None:
    """What a CDF outage did to the probes' tokens: the project no longer accepts them."""
    old = local_cdf.cdf.app.issuer
    local_cdf.cdf.app.issuer = TokenIssuer(old.client_id, old.client_secret, old.ttl_s)


def token_requests(local_cdf: LocalCdfHandle) -> int:
    return sum(n for key, n in local_cdf.cdf.request_counts().items() if key.endswith("/oauth2/token"))


def test_a_401_after_an_outage_renews_the_token_once_and_the_call_succeeds(local_cdf: LocalCdfHandle) -> None:
    api = api_for(local_cdf)

    async def scenario() -> int:
        await api.post("/assets/list", {"limit": 1})
        forget_every_token(local_cdf)
        before = token_requests(local_cdf)
        await api.post("/assets/list", {"limit": 1})
        await api.post("/assets/list", {"limit": 1})
        return token_requests(local_cdf) - before

    assert asyncio.run(scenario()) == 1, "the token was not renewed exactly once after CDF refused it"


def test_a_fresh_token_refused_again_fails_loudly_without_a_storm(local_cdf: LocalCdfHandle) -> None:
    api = api_for(local_cdf)
    issuer = local_cdf.cdf.app.issuer

    async def scenario() -> None:
        await api.post("/assets/list", {"limit": 1})
        issuer.valid = lambda authorization: False  # type: ignore[method-assign]
        await api.post("/assets/list", {"limit": 1})

    with pytest.raises(CdfAuthRefused, match=r"refused a freshly issued token \(401\).*fix:"):
        asyncio.run(scenario())
    assert token_requests(local_cdf) == 2, "a refused token should be renewed once, not again and again"
