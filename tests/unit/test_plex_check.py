"""`check_plex`: one OK/FAIL line per thing a user configures, each failure with its own fix."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx2
import orjson
import pytest

from plex_cdf.plex.check import PROBE_ID, CheckResult, check_plex
from plex_cdf.plex.client import PlexClient
from tests.unit.test_plex_client import KEY, PASSWORD, json, run

ENDPOINTS = [
    "/mdm/v1/parts",
    "/production/v1/production-history/production-entries",
    "/scheduling/v1/jobs/{parent}/operations",
    "/scheduling/v1/jobs",
]
SOURCES = {18765: "Daily_Performance_Report_Get", 22870: "Workcenter_Performance_Simple_Get"}


@dataclass
class World:
    """A tenant as `check` sees it; every field a thing a user can get wrong."""

    key_ok: bool = True
    tenant_ok: bool = True
    unsubscribed: set[str] = field(default_factory=set)
    ds_user_ok: bool = True
    granted: set[int] = field(default_factory=lambda: set(SOURCES))
    metadata_needs_grant: bool = False  # a tenant answering 403 already on an ungranted source's metadata
    probes: list[str] = field(default_factory=list)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if path.startswith("/api/datasources"):
            return self.datasource(request, path)
        namespace = path.strip("/").split("/")[0]
        has_tenant = "X-Plex-Connect-Customer-Id" in request.headers
        if not self.key_ok or (has_tenant and not self.tenant_ok) or namespace in self.unsubscribed:
            return json(401, {"code": "REQUEST_NOT_AUTHENTICATED", "message": "not authenticated"})
        if path == "/mdm/v1/tenants":
            return json(200, [{"id": "t1", "code": "acme"}])
        self.probes.append(path)
        return json(404, {"code": "RESOURCE_NOT_FOUND", "message": "not found"})

    def datasource(self, request: httpx2.Request, path: str) -> httpx2.Response:
        if not self.ds_user_ok:
            return json(401, {"errors": [{"code": "USER_ACCESS_DENIED", "message": "no"}]})
        if path == "/api/datasources/search":
            name = request.url.params["name"]
            return json(
                200, [{"id": i, "name": n} for i, n in SOURCES.items() if i in self.granted and name in n]
            )
        source_id = int(path.rsplit("/", 1)[1])
        if source_id not in SOURCES:
            return json(404, {"errors": [{"code": "DATA_SOURCE_NOT_FOUND", "message": "unknown"}]})
        if self.metadata_needs_grant and source_id not in self.granted:
            denied = {"code": "DATA_SOURCE_ACCESS_DENIED", "message": f"no access to '{source_id}'"}
            return json(403, {"errors": [denied], "transactionNo": "t"})
        inputs = [{"name": "Start_Date", "required": True}, {"name": "Part_Key", "required": False}]
        return json(200, {"id": source_id, "name": SOURCES[source_id], "inputs": inputs})


def check(world: World, sources: list[int] | None = None) -> list[CheckResult]:
    async def scenario(client: PlexClient) -> list[CheckResult]:
        return await check_plex(client, ENDPOINTS, sources if sources is not None else list(SOURCES))

    return run(world, scenario)


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    for result in results:
        text = f"{result.detail} {result.fix}"
        assert KEY not in text and PASSWORD not in text, f"a secret leaked into check output: {text}"
        assert result.ok or result.fix, f"{result.name} failed without a fix"
    return {r.name: r for r in results}


def test_all_ok_lists_every_product_and_data_source_once() -> None:
    world = World()
    results = by_name(check(world))
    assert list(results) == [
        "Connect key and tenant",
        "Connect product 'mdm'",
        "Connect product 'production'",
        "Connect product 'scheduling'",
        "data source 18765",
        "data source 22870",
    ]
    assert all(r.ok for r in results.values()), [r for r in results.values() if not r.ok]
    assert "acme" in results["Connect key and tenant"].detail
    assert "Start_Date*" in results["data source 18765"].detail, "required inputs are marked"
    assert f"/scheduling/v1/jobs/{PROBE_ID}/operations/{PROBE_ID}" in world.probes, "one probe per product"
    assert len(world.probes) == 3


def test_a_bad_key_fails_the_key_line_and_skips_the_products() -> None:
    results = by_name(check(World(key_ok=False), sources=[]))
    key = results["Connect key and tenant"]
    assert not key.ok and "rejected the Connect API key" in key.detail and "current consumer key" in key.fix
    assert all(
        not r.ok and r.detail == "not checked" for n, r in results.items() if n.startswith("Connect p")
    )


def test_an_ungranted_tenant_says_which_tenant() -> None:
    key = by_name(check(World(tenant_ok=False), sources=[]))["Connect key and tenant"]
    assert not key.ok and "customer id (PCN) 340884" in key.detail and "customer_id" in key.fix


def test_an_unsubscribed_product_fails_only_its_line() -> None:
    results = by_name(check(World(unsubscribed={"production"}), sources=[]))
    production = results["Connect product 'production'"]
    assert not production.ok and "not subscribed to the 'production' API product" in production.detail
    assert "subscribe the app" in production.fix
    assert results["Connect product 'mdm'"].ok and results["Connect product 'scheduling'"].ok


def test_an_ungranted_data_source_is_named_with_the_grant_fix() -> None:
    results = by_name(check(World(granted={18765})))
    assert results["data source 18765"].ok
    denied = results["data source 22870"]
    assert not denied.ok and "Workcenter_Performance_Simple_Get" in denied.detail
    assert "ask Plex to grant data source 22870 to the web-service user" in denied.fix


def test_a_403_on_the_metadata_of_an_ungranted_source_asks_plex_for_the_grant() -> None:
    results = by_name(check(World(granted={18765}, metadata_needs_grant=True)))
    assert results["data source 18765"].ok
    denied = results["data source 22870"]
    assert not denied.ok and "DATA_SOURCE_ACCESS_DENIED" in denied.detail
    assert "ask Plex to grant data source 22870 to the web-service user" in denied.fix


def test_bad_data_source_credentials_and_unknown_ids_each_fail_with_a_fix() -> None:
    bad_user = by_name(check(World(ds_user_ok=False), sources=[18765]))["data source 18765"]
    assert (
        not bad_user.ok and "rejected web-service user" in bad_user.detail and "ds_password" in bad_user.fix
    )
    unknown = by_name(check(World(), sources=[99]))["data source 99"]
    assert not unknown.ok and "does not exist" in unknown.detail and "Data Sources screen" in unknown.fix


def test_an_unreachable_plex_fails_with_a_network_fix() -> None:
    def down(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused")

    async def scenario(client: PlexClient) -> list[CheckResult]:
        return await check_plex(client, [], [])

    (result,) = run(down, scenario, max_retries=1)
    assert not result.ok and "cannot reach Plex at" in result.detail and "connection refused" in result.detail
    assert "network" in result.fix


@pytest.mark.parametrize("answer", [200, 400])
def test_a_probe_answered_at_all_proves_the_subscription(answer: int) -> None:
    def plex(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/mdm/v1/tenants":
            return json(200, [])
        return httpx2.Response(
            answer, content=orjson.dumps({"code": "ARGUMENT_INVALID"} if answer == 400 else {})
        )

    async def scenario(client: PlexClient) -> list[CheckResult]:
        return await check_plex(client, ["/engineering/v1/boms"], [])

    results = run(plex, scenario)
    assert [r.ok for r in results] == [True, True]
