"""The OAuth client-credentials token endpoint and Bearer-token checks."""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from plex_cdf.sim.cdf.errors import Json


@dataclass
class TokenIssuer:
    """Issues opaque tokens for the configured client; `None` id/secret accepts any client."""

    client_id: str | None
    client_secret: str | None
    ttl_s: int
    _expiry: dict[str, float] = field(default_factory=dict)

    def issue(self, form: Mapping[str, str], authorization: str | None = None) -> tuple[int, Json]:
        """(HTTP status, body) in the OAuth 2.0 shapes (RFC 6749 §5.1 and §5.2).

        The client authenticates in the form body or by HTTP Basic (RFC 6749 §2.3.1), not both.
        """
        if authorization is not None and authorization.lower().startswith("basic "):
            basic = _basic_credentials(authorization[len("basic ") :])
            if basic is None:
                return 401, _oauth_error("invalid_client", "malformed Basic credentials")
            if "client_secret" in form or form.get("client_id", basic[0]) != basic[0]:
                return 400, _oauth_error("invalid_request", "use one client authentication method, not two")
            form = {**form, "client_id": basic[0], "client_secret": basic[1]}
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


def _basic_credentials(encoded: str) -> tuple[str, str] | None:
    """(client id, secret) from Basic credentials: base64 of form-encoded id ":" form-encoded secret."""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    return (unquote_plus(client_id), unquote_plus(secret)) if colon else None


def _oauth_error(error: str, description: str) -> Json:
    return {"error": error, "error_description": description}
