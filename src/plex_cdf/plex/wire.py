"""What goes over the wire: a call as the client means it, an answer as Plex gave it, and the small
readers of Plex's error bodies. Pure; no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import orjson

Params = Mapping[str, str | Sequence[str]]
Api = Literal["connect", "datasource"]


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
    headers: httpx.Headers


def answer_of(response: httpx.Response) -> Answer:
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


def query(params: Params | None) -> httpx.QueryParams | None:
    """Query pairs; a sequence value repeats its name (`?id=a&id=b`), as Plex expects."""
    if not params:
        return None
    pairs: list[tuple[str, str | int | float | bool | None]] = []
    for name, value in params.items():
        values = [value] if isinstance(value, str) else list(value)
        pairs += [(name, str(v)) for v in values]
    return httpx.QueryParams(pairs)


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
