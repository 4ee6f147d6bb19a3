"""Value types shared by the configuration models: durations, base URLs, PCNs, log levels."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
DURATION_PATTERN = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)?\s*$"
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def parse_duration(value: Any) -> timedelta:
    """`30s`, `5m`, `2h`, `1d`, `250ms` or a bare number of seconds; never negative."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}; use seconds or 30s, 5m, 2h, 1d")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"a duration cannot be negative: {value!r}")
        return timedelta(seconds=value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"not a duration: {value!r}; use seconds or 30s, 5m, 2h, 1d")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def format_duration(value: timedelta) -> str:
    """The shortest exact unit, so a dumped config reads like a written one (`5m`, `1d`, `90s`)."""
    seconds = value.total_seconds()
    for unit in ("d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{round(seconds * 1000)}ms"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "description": "a number of seconds, or a number with a unit: ms, s, m, h, d (e.g. 30s, 5m, 1d)",
            "oneOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": DURATION_PATTERN},
            ],
        }
    ),
]


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(value: Any) -> str:
    """An absolute https URL without a trailing slash; plain http only for loopback (local simulators),
    so credentials never cross a network in clear text."""
    if not isinstance(value, str):
        raise ValueError(f"expected a URL, got {value!r}")
    if _has_break(value.strip()):
        raise ValueError(f"a URL is one line without spaces, got {value!r}")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {value!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(f"{value!r} must use https (plain http is allowed only for localhost)")
    return value.strip().rstrip("/")


BaseUrl = Annotated[
    str,
    BeforeValidator(check_base_url),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^https?://",
            "description": "https URL (http only for localhost)",
        }
    ),
]


def _has_break(text: str) -> bool:
    """A space, line break or other control character: never part of a URL or a CDF project name."""
    return any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in text)


def check_one_word(value: Any) -> Any:
    """A name sent in URLs and headers (a CDF project): a line break or space there is a typo."""
    if isinstance(value, str) and _has_break(value.strip()):
        raise ValueError(f"must be one word without spaces or line breaks, got {value!r}")
    return value.strip() if isinstance(value, str) else value


OneWord = Annotated[
    str,
    BeforeValidator(check_one_word),
    WithJsonSchema({"type": "string", "pattern": "^\\S+$", "minLength": 1}),
]


def check_pcn(value: Any) -> str:
    """A PCN (Plexus Customer Number) is a positive number; YAML may give it as an int or a string."""
    text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else None
    if text is None or not (text.isascii() and text.isdigit()) or int(text) == 0:
        raise ValueError(f"a PCN is a positive number such as 340884, got {value!r}")
    return text


Pcn = Annotated[
    str,
    BeforeValidator(check_pcn),
    WithJsonSchema(
        {
            "oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": "^[0-9]+$"}],
            "description": "Plexus Customer Number, e.g. 340884",
        }
    ),
]

LogLevelName = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LOG_LEVELS: tuple[LogLevelName, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


LogLevel = Annotated[
    LogLevelName,
    BeforeValidator(_upper),
    WithJsonSchema({"enum": [*LOG_LEVELS, *(level.lower() for level in LOG_LEVELS)]}),
]
