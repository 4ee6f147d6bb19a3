"""The error policy: one table from HTTP status (or Data Source error code, or exception) to action, and
the retry delays (seconds)."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum

import httpx2


class Action(Enum):
    OK = "ok"
    RETRY = "retry"  # transient: back off with jitter, try again
    THROTTLED = "throttled"  # 429: wait as Plex says (or back off), pause the whole tenant budget
    NO_DATA = "no_data"  # 404 on Connect: an empty list, or None for an object
    AUTH = "auth"  # 401: a bad key, an ungranted tenant or an unsubscribed product (diagnosed after)
    FORBIDDEN = "forbidden"  # 403 or an access-denied code: permissions, fail fast
    GRANT = "grant"  # the web-service user is not granted this data source
    NOT_OFFERED = "not_offered"  # the tenant has no such data source
    INVALID = "invalid"  # 400 and other 4xx: the request itself is wrong


CONNECT_STATUS: Mapping[int, Action] = {
    400: Action.INVALID,
    401: Action.AUTH,
    403: Action.FORBIDDEN,
    404: Action.NO_DATA,
    408: Action.RETRY,
    429: Action.THROTTLED,
}

DATASOURCE_STATUS: Mapping[int, Action] = {
    400: Action.INVALID,
    401: Action.AUTH,
    403: Action.FORBIDDEN,
    404: Action.NOT_OFFERED,
    408: Action.RETRY,
    429: Action.THROTTLED,
}

# Data Source error codes are stable constants (messages are not): they override the status.
DATASOURCE_CODES: Mapping[str, Action] = {
    "DATA_SOURCE_ACCESS_DENIED": Action.GRANT,
    "CUSTOMER_ACCESS_DENIED": Action.FORBIDDEN,
    "DATA_SOURCE_API_ACCESS_DENIED": Action.FORBIDDEN,
    "USER_ACCESS_DENIED": Action.AUTH,
    "DATA_SOURCE_NOT_FOUND": Action.NOT_OFFERED,
    "DATA_SOURCE_OBJECT_NOT_FOUND": Action.INVALID,
    "DATA_SOURCE_INPUT_FORMAT_INVALID": Action.INVALID,
    "DATA_SOURCE_INPUT_NOT_ACCESSIBLE": Action.INVALID,
    "DATA_SOURCE_INPUT_NOT_FOUND": Action.INVALID,
    "DATA_SOURCE_INPUT_NOT_NULLABLE": Action.INVALID,
    "DATA_SOURCE_INPUT_REQUIRED": Action.INVALID,
    "DATA_SOURCE_INPUT_TYPE_MISMATCH": Action.INVALID,
    "METHOD_NOT_ALLOWED": Action.INVALID,
    "REQUEST_PROCESSING_ERROR": Action.RETRY,
}

# Connection trouble worth another try; anything else raised by httpx2 is a bug or a bad URL.
RETRYABLE_EXCEPTIONS: tuple[type[Exception], ...] = (
    httpx2.TimeoutException,
    httpx2.NetworkError,
    httpx2.RemoteProtocolError,
)


def action_for(status: int, table: Mapping[int, Action], code: str | None = None) -> Action:
    """What to do about an answer: the code table first (Data Source), then the status table, then the
    status class (2xx ok, 5xx retry, other 4xx invalid)."""
    if code is not None and code in DATASOURCE_CODES and status >= 400:
        return DATASOURCE_CODES[code]
    if status in table:
        return table[status]
    if 200 <= status < 300:
        return Action.OK
    return Action.RETRY if status >= 500 else Action.INVALID


def backoff_s(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Exponential backoff with equal jitter: half the step fixed, half random, so a herd spreads out."""
    step = min(cap_s, base_s * 2.0**attempt)
    return step / 2 + rng.uniform(0, step / 2)


_TRY_AGAIN = re.compile(r"in\s+(\d+(?:\.\d+)?)\s*sec", re.IGNORECASE)


def retry_after_s(headers: httpx2.Headers, message: str | None) -> float | None:
    """Plex's own wait hint in seconds: the Retry-After header (seconds or an HTTP date), else a
    "try again in N seconds" message; None when there is neither."""
    value = headers.get("retry-after")
    if value:
        seconds = _header_seconds(value.strip())
        if seconds is not None:
            return seconds
    if message:
        match = _TRY_AGAIN.search(message)
        if match:
            return float(match.group(1))
    return None


def _header_seconds(value: str) -> float | None:
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, float((when - datetime.now(UTC)).total_seconds()))
