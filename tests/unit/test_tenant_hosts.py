"""Each tenant reaches the Data Source API at its own host: explicit, or built from its code as Plex does
(`https://{code}.on.plex.com`, `.test.` for the test environment), as the predecessor did from
PLEX_PCN_CODE."""

from __future__ import annotations

from typing import Any

import pytest

from plex_cdf.app import plex_settings
from plex_cdf.config import Config
from plex_cdf.config.legacy import legacy_tree
from tests.unit.test_config import MINIMAL, merged


def config(plex: dict[str, Any]) -> Config:
    return Config.model_validate(merged(MINIMAL, {"plex": plex}))


def test_two_tenants_get_the_hosts_their_codes_name() -> None:
    cfg = config({"tenants": [{"pcn": 1, "code": "ra-process"}, {"pcn": 2, "code": "acme-north"}]})

    hosts = [plex_settings(cfg, tenant).datasource_url for tenant in cfg.plex.tenants]

    assert hosts == ["https://ra-process.on.plex.com", "https://acme-north.on.plex.com"]


def test_the_test_environment_puts_test_into_the_host() -> None:
    cfg = config({"use-test": True, "tenants": [{"pcn": 1, "code": "ra-process"}]})

    assert plex_settings(cfg, cfg.plex.tenants[0]).datasource_url == "https://ra-process.test.on.plex.com"


@pytest.mark.parametrize(
    ("plex", "host"),
    [
        ({"tenants": [{"pcn": 1}]}, "https://cloud.plex.com"),
        (
            {"tenants": [{"pcn": 1, "code": "x", "datasource-url": "https://ds.example"}]},
            "https://ds.example",
        ),
        (
            {"datasource-url": "https://proxy.example", "tenants": [{"pcn": 1, "code": "x"}]},
            "https://proxy.example",
        ),
    ],
)
def test_an_explicit_url_wins_over_the_code_and_without_either_the_shared_host_serves(
    plex: dict[str, Any], host: str
) -> None:
    cfg = config(plex)

    assert plex_settings(cfg, cfg.plex.tenants[0]).datasource_url == host


def test_a_code_that_cannot_be_a_host_name_is_refused() -> None:
    with pytest.raises(ValueError, match="code"):
        config({"tenants": [{"pcn": 1, "code": "ra process/x"}]})


def test_the_predecessors_pcn_code_builds_the_host() -> None:
    tree = legacy_tree(
        {
            "CDF_PROJECT": "p",
            "CDF_HOST": "https://westeurope-1.cognitedata.com",
            "CDF_TOKEN_URL": "https://login.example.com/token",
            "CDF_CLIENT_ID": "c",
            "CDF_CLIENT_SECRET": "s",
            "PLEX_API_KEY": "k",
            "PLEX_CUSTOMER_ID": "340884",
            "PLEX_PCN_CODE": "ra-process",
        }
    )
    cfg = Config.model_validate(tree)

    assert plex_settings(cfg, cfg.plex.tenants[0]).datasource_url == "https://ra-process.on.plex.com"
    assert cfg.plex.tenants[0].name == "ra-process"
