"""What goes over the wire: a call as the client means it, an answer as Plex gave it, and the small
readers of Plex's error bodies. Pure; no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx2
import orjson

Params = Mapping[str, str | Sequence[str]]
Api = Literal["connect", "datasource"]

# A list body larger than this is parsed a slice of its objects at a time: orjson builds a document of
# the whole body before any Python object (about five times the body's size for Plex's lists), so a
# 20 MB parts list would otherwise cost some 100 MB more at its peak than the records it makes.
SLICE_BYTES = 1 << 20
# Where one object of a list may end and the next begin; a candidate inside a string or a nested list
# is refused by the parse of its slice, and the slice then reaches to the next one.
_BETWEEN_OBJECTS = re.compile(rb"}\s*,\s*{")
_MISSED_CUTS = 3  # after this many refused candidates in one slice, the body is parsed whole


@dataclass(frozen=True)
class Call:
    api: Api
    method: str
    path: str
    params: Params | None = None
    body: bytes | None = None
    with_tenant: bool = True  # False only for the key canary of a 401 diagnosis


@dataclass(frozen=True)
class Answer:
    """Status and body bytes; for an error, Plex's code, message and detailed errors."""

    status: int
    content: bytes
    code: str | None
    message: str
    errors: list[Any]
    headers: httpx2.Headers


def answer_of(response: httpx2.Response) -> Answer:
    """Reads either API's error shape: `{code, message, errors}` (Connect) or `{errors: [{code, message}]}`
    (Data Source). A success keeps its bytes untouched for one parse later."""
    if response.status_code < 300:
        return Answer(response.status_code, response.content, None, "", [], response.headers)
    try:
        body = orjson.loads(response.content) if response.content else {}
    except orjson.JSONDecodeError:
        body = {"message": response.text[:200]}
    if not isinstance(body, dict):
        body = {}
    raw_errors = body.get("errors")
    errors: list[Any] = raw_errors if isinstance(raw_errors, list) else []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = body.get("code") or first.get("code")
    message = body.get("message") or first.get("message") or ""
    return Answer(
        response.status_code, b"", str(code) if code else None, str(message), errors, response.headers
    )


def query(params: Params | None) -> httpx2.QueryParams | None:
    """Query pairs; a sequence value repeats its name (`?id=a&id=b`), as Plex expects."""
    if not params:
        return None
    pairs: list[tuple[str, str | int | float | bool | None]] = []
    for name, value in params.items():
        values = [value] if isinstance(value, str) else list(value)
        pairs += [(name, str(v)) for v in values]
    return httpx2.QueryParams(pairs)


def blames_request(errors: list[Any], params: Params | None) -> bool:
    """Whether Plex's 400 points at the request: a parameter we sent, or one it says is required. A 400
    that faults nothing we sent refused a request it had nothing against: the resource is not offered."""
    sent = {name.lower() for name in params or {}}
    for error in errors:
        if not isinstance(error, dict):
            continue
        required = "REQUIRED" in str(error.get("code") or "").upper()
        for meta in error.get("metadata") or []:
            field = str(meta.get("field") or "").lower() if isinstance(meta, dict) else ""
            if field and (field in sent or required):
                return True
    return False


def error_detail(error: Mapping[str, Any]) -> str:
    """One of Plex's detailed errors as text: code, message, and each faulted field with its values."""
    fields = [
        f"{m.get('field')}={m.get('providedValues')}"
        for m in error.get("metadata") or []
        if isinstance(m, dict)
    ]
    return " ".join(str(part) for part in (error.get("code"), error.get("message"), *fields) if part)


def loads(content: bytes, slice_bytes: int = SLICE_BYTES) -> Any:
    """The JSON value of a body, as `orjson.loads` gives it; a large top-level list of objects is parsed
    `slice_bytes` at a time, so its peak memory is the records, not the records plus the whole body's
    parse document. Invalid JSON raises `orjson.JSONDecodeError` as the whole parse would."""
    start = len(content) - len(content.lstrip())
    if len(content) - start <= slice_bytes or content[start : start + 1] != b"[":
        return orjson.loads(content)
    rows: list[Any] = []
    begin = start + 1  # the first object of the slice in hand
    while len(content) - begin > slice_bytes:
        parsed = _next_slice(content, begin, slice_bytes)
        if parsed is None:
            return orjson.loads(content)  # no clean cut found: the whole parse decides
        part, begin = parsed
        rows += part
    rows += orjson.loads(b"[" + content[begin:])
    return rows


def _next_slice(content: bytes, begin: int, slice_bytes: int) -> tuple[list[Any], int] | None:
    """The objects from `begin` up to the first clean cut at least `slice_bytes` on, and where the next
    slice begins; None when no cut parses within a few candidates."""
    search = begin + slice_bytes
    for _ in range(_MISSED_CUTS):
        cut = _BETWEEN_OBJECTS.search(content, search)
        if cut is None:
            return None
        try:
            part = orjson.loads(b"[" + content[begin : cut.start() + 1] + b"]")
        except orjson.JSONDecodeError:
            search = cut.start() + 1
            continue
        if isinstance(part, list):
            return part, cut.end() - 1
    return None
