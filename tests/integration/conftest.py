"""Shared fixtures for tests that need a local CDF (named `local_cdf*`; see docs/local-cdf.md)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cognite.client import AsyncCogniteClient, ClientConfig, CogniteClient, global_config
from cognite.client.credentials import OAuthClientCredentials

from plex_cdf.sim.cdf import LocalCdf, RunningServer

LOCAL_CDF_PROJECT = "plex-cdf"
LOCAL_CDF_CLIENT_ID = "plex-cdf"
LOCAL_CDF_SECRET = "local-secret"


@dataclass(frozen=True)
class LocalCdfHandle:
    """A served local CDF: the object (counts, faults, store) and where it listens."""

    cdf: LocalCdf
    server: RunningServer

    def client_config(self, client_secret: str = LOCAL_CDF_SECRET) -> ClientConfig:
        credentials = OAuthClientCredentials(
            token_url=self.server.token_url,
            client_id=LOCAL_CDF_CLIENT_ID,
            client_secret=client_secret,
            scopes=["user_impersonation"],
        )
        return ClientConfig(
            client_name="plex-cdf-tests",
            project=LOCAL_CDF_PROJECT,
            credentials=credentials,
            base_url=self.server.base_url,
        )

    def client(self) -> CogniteClient:
        return CogniteClient(self.client_config())

    def async_client(self) -> AsyncCogniteClient:
        return AsyncCogniteClient(self.client_config())


@pytest.fixture
def local_cdf() -> Iterator[LocalCdfHandle]:
    """A fresh, empty local CDF per test, served on a free loopback port."""
    global_config.disable_pypi_version_check = True
    cdf = LocalCdf(project=LOCAL_CDF_PROJECT, client_id=LOCAL_CDF_CLIENT_ID, client_secret=LOCAL_CDF_SECRET)
    with cdf.serve() as server:
        yield LocalCdfHandle(cdf, server)


@pytest.fixture
def local_cdf_client(local_cdf: LocalCdfHandle) -> CogniteClient:
    """The real cognite-sdk CogniteClient, authenticated by OAuth client credentials against `local_cdf`."""
    return local_cdf.client()
