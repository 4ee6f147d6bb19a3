"""`plex-cdf check` through the real command line: the all-OK table and exit 0, and each failure class
(bad key, ungranted tenant, unsubscribed product, ungranted data source, bad CDF secret) as a FAIL row
with its fix and exit 1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import (
    WORLD_API_KEY,
    WORLD_DS_USER,
    WORLD_PCN,
    World,
    world_row,
    world_table,
)


def check_rows(stdout: str) -> dict[str, str]:
    return {row[0]: row[1] for row in world_table(stdout) if len(row) >= 2 and row[1] in ("OK", "FAIL")}


def test_check_all_ok_exits_0(world_pair: World, world_config: Path) -> None:
    world_pair.setup(world_config)

    done = world_pair.cli("check", "-c", str(world_config))

    rows = check_rows(done.stdout)
    failing = {name for name, result in rows.items() if result != "OK"}
    assert not failing, f"check reports FAIL on a healthy set-up: {sorted(failing)}"
    assert done.returncode == 0, f"an all-OK check exited {done.returncode}"
    for expected in (
        f"PCN {WORLD_PCN}: Connect key and tenant",
        f"PCN {WORLD_PCN}: Connect product 'quality'",
        f"PCN {WORLD_PCN}: data source 18765",
        "CDF token",
        "CDF capabilities",
        "CDF data sets",
    ):
        assert expected in rows, f"check has no row {expected!r}; rows: {sorted(rows)}"


def _bad_key(world: World, tree: dict[str, Any]) -> None:
    tree["plex"]["api-key"] = "revoked-key"


def _ungranted_tenant(world: World, tree: dict[str, Any]) -> None:
    tree["plex"]["tenants"][0]["pcn"] = "777001"


def _unsubscribed_product(world: World, tree: dict[str, Any]) -> None:
    world.plex.subscribe(api_key=WORLD_API_KEY, namespace="quality", subscribed=False)


def _ungranted_data_source(world: World, tree: dict[str, Any]) -> None:
    world.plex.grant_datasource(user=WORLD_DS_USER, source_id=18765, granted=False)


def _bad_cdf_secret(world: World, tree: dict[str, Any]) -> None:
    tree["cognite"]["idp-authentication"]["secret"] = "wrong-cdf-secret"


@pytest.mark.parametrize(
    ("break_it", "failing_row", "secret"),
    [
        (_bad_key, f"PCN {WORLD_PCN}: Connect key and tenant", "revoked-key"),
        (_ungranted_tenant, "PCN 777001: Connect key and tenant", None),
        (_unsubscribed_product, f"PCN {WORLD_PCN}: Connect product 'quality'", None),
        (_ungranted_data_source, f"PCN {WORLD_PCN}: data source 18765", None),
        (_bad_cdf_secret, "CDF token", "wrong-cdf-secret"),
    ],
    ids=["bad key", "ungranted tenant", "unsubscribed product", "ungranted data source", "bad CDF secret"],
)
def test_check_names_each_failure_and_exits_1(
    world_pair: World,
    world_config: Path,
    break_it: Callable[[World, dict[str, Any]], None],
    failing_row: str,
    secret: str | None,
) -> None:
    world_pair.setup(world_config)
    tree = world_pair.config_tree()
    break_it(world_pair, tree)
    config = world_pair.write_config(tree, "broken.yaml")

    done = world_pair.cli("check", "-c", str(config))

    assert done.returncode == 1, f"check exited {done.returncode} with {failing_row} broken"
    row = world_row(done.stdout, failing_row)
    assert row[1] == "FAIL", f"check shows {row[1]} for {failing_row}: {row}"
    assert row[3], f"the FAIL row for {failing_row} says nothing about the fix: {row}"
    if break_it is _ungranted_data_source:
        assert "ask Plex to grant data source 18765 to the web-service user" in " ".join(row), row
    if secret is not None:
        assert secret not in done.stdout + done.stderr, "check printed the broken secret"
