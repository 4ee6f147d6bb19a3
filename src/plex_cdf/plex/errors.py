"""Plex errors, grouped by what to do about them, and the masking every message goes through.

- `PlexConfigError`: fix the configuration (key, tenant, subscription, data-source grant, credentials).
- `PlexNotOffered`: this tenant does not offer the resource; an optional resource warns and is skipped.
- `PlexRequestError`: Plex rejected the request itself (400); the message names the request.
- `PlexUnavailable`: Plex kept failing (retries exhausted) or the endpoint's circuit is open.
- `PlexUnreachable`: the host refused the connection or does not resolve; not retried.
- `PlexRowLimitError`: a data source answer was truncated at its row limit; narrow the inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

MASK = "***"

ConfigProblem = Literal[
    "bad_key", "tenant", "product", "forbidden", "datasource_grant", "datasource_access", "ds_credentials"
]


class PlexError(Exception):
    """Every error the Plex client raises; the message is one line with secrets masked."""


class PlexConfigError(PlexError):
    """A configuration problem: retrying cannot help. `problem` says which one (for `check` and runners)."""

    def __init__(self, message: str, problem: ConfigProblem) -> None:
        super().__init__(message)
        self.problem: ConfigProblem = problem


class PlexNotOffered(PlexError):
    """The tenant does not offer this resource (unknown namespace or data source, or Plex refuses a valid
    request for it)."""


class PlexRequestError(PlexError):
    """Plex found the request invalid (400): names the path, the masked params and Plex's own message."""

    def __init__(self, message: str, status: int, code: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class PlexUnavailable(PlexError):
    """Plex did not answer usefully within the retry budget, or the endpoint's circuit breaker is open."""


class PlexUnreachable(PlexUnavailable):
    """Plex's host refused the connection or its name did not resolve: fail fast, not retried."""


class PlexRowLimitError(PlexError):
    """A data source hit its read row limit, so the rows are truncated."""

    def __init__(self, message: str, rows_returned: int) -> None:
        super().__init__(message)
        self.rows_returned = rows_returned


class Masker:
    """Replaces every configured secret in a text; a secret shorter than 4 characters is still masked."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        # Longest first so a secret containing another is masked whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, MASK)
        return value

    def params(self, params: Mapping[str, object] | None) -> str:
        """Request params as `k=v&k=v` for a message, secrets masked, one line."""
        if not params:
            return "(none)"
        parts = [f"{key}={_flat(value)}" for key, value in params.items()]
        return self.text(" ".join(parts).replace("\n", " "))


def _flat(value: object) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def key_hint(api_key: str) -> str:
    """Names a key without revealing it: its last four characters when it is long enough to spare them."""
    return f"ending '…{api_key[-4:]}'" if len(api_key) >= 16 else "(masked)"
