"""How to reach one Plex tenant: hosts, credentials, call budget, timeouts and retry limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

PRODUCTION_CONNECT_URL = "https://connect.plex.com"
TEST_CONNECT_URL = "https://test.connect.plex.com"


def datasource_host_url(code: str | None = None, *, test: bool = False) -> str:
    """The Data Source API host: `cloud.plex.com` without a tenant URL code, `{code}.on.plex.com` with
    one; the `test.` variants for the test environment."""
    if code is None:
        return "https://test.cloud.plex.com" if test else "https://cloud.plex.com"
    return f"https://{code}.test.on.plex.com" if test else f"https://{code}.on.plex.com"


@dataclass(frozen=True)
class PlexSettings:
    """One tenant's connection. Secrets never appear in repr. Times in seconds, budget in calls per window.

    `customer_id` (the PCN) or `tenant_id` (a UUID) selects the tenant; with neither, Plex uses the key's
    default tenant. Data Source credentials are separate from the Connect key and only needed for data
    sources.
    """

    connect_url: str
    api_key: str = field(repr=False)
    datasource_url: str = "https://cloud.plex.com"
    api_secret: str | None = field(default=None, repr=False)
    customer_id: str | None = None
    tenant_id: str | None = None
    ds_username: str | None = None
    ds_password: str | None = field(default=None, repr=False)
    calls_per_minute: int = 200  # calls allowed per window (named for Plex's documented 200 a minute)
    window_seconds: float = 60.0
    fan_out_share: float = 0.5  # the most of the budget per-parent and per-record calls may hold
    max_concurrency: int = 8
    timeout_s: float = 300.0  # per read: a 100,000-row body can take tens of seconds to arrive
    connect_timeout_s: float = 15.0
    verify_tls: bool = True
    max_retries: int = 8
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    breaker_threshold: int = 8  # consecutive failed attempts on one endpoint that open its circuit
    breaker_cooldown_s: float = 30.0

    def __post_init__(self) -> None:
        for name in ("connect_url", "datasource_url"):
            _require_http_url(name, getattr(self, name))
        if not self.api_key.strip():
            raise ValueError("plex api_key is empty: set the Connect consumer key")
        if self.customer_id and self.tenant_id:
            raise ValueError("plex customer_id and tenant_id are both set: choose one tenant selector")
        for name, least in _LOWER_BOUNDS.items():
            if getattr(self, name) < least:
                raise ValueError(f"plex {name} must be at least {least}, got {getattr(self, name)}")
        if not 0 < self.fan_out_share <= 1:
            raise ValueError(f"plex fan_out_share must be in (0, 1], got {self.fan_out_share}")
        for name in ("window_seconds", "timeout_s", "connect_timeout_s", "backoff_base_s", "backoff_cap_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"plex {name} must be positive, got {getattr(self, name)}")

    @property
    def secrets(self) -> tuple[str | None, ...]:
        return (self.api_key, self.api_secret, self.ds_password)


_LOWER_BOUNDS = {
    "calls_per_minute": 1,
    "max_concurrency": 1,
    "breaker_threshold": 1,
    "max_retries": 0,
    "breaker_cooldown_s": 0,
}


def _require_http_url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"plex {name} is not an http(s) URL: {value!r}")
