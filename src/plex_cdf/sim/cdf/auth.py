"""The OAuth client-credentials token endpoint and Bearer-token checks."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from plex_cdf.sim.cdf.errors import Json


@dataclass
class TokenIssuer:
    """Issues opaque tokens for the configured client; `None` id/secret accepts any client."""

    client_id: str | None
    client_secret: str | None
    ttl_s: int
    _expiry: dict[str, float] = field(default_factory=dict)

    def issue(self, form: Mapping[str, str]) -> tuple[int, Json]:
        """(HTTP status, body) in the OAuth 2.0 shapes (RFC 6749 §5.1 and §5.2)."""
        if form.get("grant_type") != "client_credentials":
            return 400, _oauth_error("unsupported_grant_type", "only client_credentials is supported")
        if self.client_id is not None and form.get("client_id") != self.client_id:
            return 401, _oauth_error("invalid_client", "unknown client_id")
        if self.client_secret is not None and not secrets.compare_digest(
            form.get("client_secret", ""), self.client_secret
        ):
            return 401, _oauth_error("invalid_client", "client authentication failed")
        token = secrets.token_urlsafe(24)
        self._expiry[token] = time.monotonic() + self.ttl_s
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": self.ttl_s}

    def valid(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Bearer "):
            return False
        expiry = self._expiry.get(authorization[len("Bearer ") :])
        return expiry is not None and expiry > time.monotonic()


def _oauth_error(error: str, description: str) -> Json:
    return {"error": error, "error_description": description}
