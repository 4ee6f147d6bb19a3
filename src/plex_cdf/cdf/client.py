"""The CDF client from configuration: OAuth client credentials for any identity provider.

Works for Microsoft Entra ID (token URL `.../oauth2/v2.0/token`, scope `https://<cluster>/.default`) and for
Auth0 as DataMosaix uses it (scopes such as `user_impersonation`, an optional `audience`). One client per
process and settings: the SDK caches the token and asks for a new one only shortly before it expires, which
matters where token requests are metered (Auth0).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2
from cognite.client import AsyncCogniteClient, ClientConfig, global_config
from cognite.client.credentials import OAuthClientCredentials
from cognite.client.exceptions import CogniteOAuthError

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TOKEN_LEEWAY_S = 30  # refresh this many seconds before the token expires


class CdfSettingsError(ValueError):
    """A CDF setting that cannot work; the message names the setting and never holds the secret."""


@dataclass(frozen=True)
class CdfSettings:
    host: str  # e.g. https://westeurope-1.cognitedata.com
    project: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: Sequence[str] = ()
    audience: str | None = None
    resource: str | None = None  # Entra ID v1 token endpoints
    client_name: str = "plex-cdf"
    timeout_s: int = 60
    max_workers: int = 4  # concurrent CDF write requests per API (SDK concurrency settings)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scopes", tuple(self.scopes))
        _check_url("host", self.host)
        _check_url("token_url", self.token_url)
        for name in ("project", "client_id", "client_secret"):
            if not str(getattr(self, name)).strip():
                raise CdfSettingsError(f"cognite.{name} is empty")
        if self.timeout_s <= 0 or self.max_workers <= 0:
            raise CdfSettingsError("cognite.timeout_s and cognite.max_workers must be positive")


class CdfAuthRefused(CdfSettingsError):
    """The identity provider refused the client credentials, or CDF refused a fresh token: configuration."""


class CdfAuthUnavailable(RuntimeError):
    """The token endpoint could not be reached or gave no usable answer: runtime, retry later."""


class RenewableCredentials(OAuthClientCredentials):
    """OAuth client credentials whose token is cached until `TOKEN_LEEWAY_S` before it expires (as the
    SDK's own provider does, so metered token endpoints are asked rarely), and which can be told the token
    is no longer accepted (`renew`, after a 401). Token-endpoint trouble becomes one line naming the URL."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._token_lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.last_error: str | None = None  # the last token problem, None once a token came (readiness)

    def authorization_header(self) -> tuple[str, str]:
        with self._token_lock:
            if self._token is None or self._expires_at < time.time() + self.token_expiry_leeway_seconds:
                self._token, self._expires_at = self._fetch_token()
            return "Authorization", f"Bearer {self._token}"

    def renew(self) -> None:
        """Forget the cached token: the next request asks the identity provider for a new one."""
        with self._token_lock:
            self._token = None

    def _fetch_token(self) -> tuple[str, float]:
        try:
            token = self._refresh_access_token()
        except (CdfAuthRefused, CdfAuthUnavailable) as err:
            self.last_error = str(err)
            raise
        self.last_error = None
        return token

    def _refresh_access_token(self) -> tuple[str, float]:
        url = self.token_url
        try:
            return super()._refresh_access_token()
        except CogniteOAuthError as err:
            raise CdfAuthRefused(
                f"the token endpoint {url} refused the client credentials ({err}); fix: check"
                " cognite.idp-authentication (client-id, secret, scopes, audience)"
            ) from None
        except KeyError:
            raise CdfAuthUnavailable(
                f"the token endpoint {url} answered without an access_token; fix: check"
                " cognite.idp-authentication.token-url (it must be the OAuth token endpoint)"
            ) from None
        except httpx2.HTTPStatusError as err:
            raise CdfAuthUnavailable(
                f"the token endpoint {url} answered HTTP {err.response.status_code}; fix: retry later, or"
                " check cognite.idp-authentication.token-url"
            ) from None
        except httpx2.TimeoutException:
            raise CdfAuthUnavailable(
                f"the token endpoint {url} did not answer in time; fix: check the network and"
                " cognite.idp-authentication.token-url, or retry later"
            ) from None
        except httpx2.TransportError as err:
            raise CdfAuthUnavailable(
                f"cannot reach the token endpoint {url} ({type(err).__name__}: {err or 'no detail'}); fix:"
                " check cognite.idp-authentication.token-url and the network"
            ) from None


def _check_url(name: str, url: str) -> None:
    """HTTPS, except towards this machine (the local CDF): a token request carries the secret."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CdfSettingsError(f"cognite.{name} is not an http(s) URL: {url!r}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise CdfSettingsError(f"cognite.{name} must use https (plain http only to localhost): {url!r}")


_clients: dict[CdfSettings, AsyncCogniteClient] = {}
_lock = threading.Lock()


def build_client(settings: CdfSettings) -> AsyncCogniteClient:
    """The process's AsyncCogniteClient for these settings (made once, then reused with its token)."""
    with _lock:
        client = _clients.get(settings)
        if client is None:
            client = _clients[settings] = _new_client(settings)
        return client


def _new_client(settings: CdfSettings) -> AsyncCogniteClient:
    global_config.disable_pypi_version_check = True
    _set_concurrency(settings.max_workers)
    extra: dict[str, Any] = {}
    if settings.audience:
        extra["audience"] = settings.audience
    if settings.resource:
        extra["resource"] = settings.resource
    credentials = RenewableCredentials(
        token_url=settings.token_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scopes=list(settings.scopes),
        token_expiry_leeway_seconds=TOKEN_LEEWAY_S,
        **extra,
    )
    config = ClientConfig(
        client_name=settings.client_name,
        project=settings.project,
        credentials=credentials,
        base_url=settings.host,
        timeout=settings.timeout_s,
    )
    return AsyncCogniteClient(config)


def _set_concurrency(max_workers: int) -> None:
    """Write concurrency per API; the SDK freezes it at its first request, after which it stays."""
    settings = global_config.concurrency_settings
    if settings.is_frozen:
        return
    settings.general.write = max_workers
    settings.datapoints.write = max_workers
    settings.raw.write = max_workers
