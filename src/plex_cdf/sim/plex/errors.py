"""Plex's answers that are not data: status code plus the body shape Plex uses for it."""

from __future__ import annotations

from typing import Any


class PlexError(Exception):
    """An answer with a status and a JSON body; raised anywhere in a handler."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def not_authenticated() -> PlexError:
    return PlexError(
        401, {"code": "REQUEST_NOT_AUTHENTICATED", "message": "The request could not be authenticated."}
    )


def not_found(what: str) -> PlexError:
    return PlexError(
        404, {"code": "RESOURCE_NOT_FOUND", "message": f"The requested resource was not found: {what}"}
    )


def invalid(
    code: str, field: str, provided: list[str], message: str, valid: list[str] | None = None
) -> PlexError:
    """400 in the spec's error shape: top-level code, one detailed error naming the field."""
    detail = {
        "code": code,
        "message": message,
        "metadata": [{"field": field, "providedValues": provided, "validValues": valid or []}],
    }
    top = "ARGUMENT_INVALID" if code == "ARGUMENT_INVALID" else "REQUEST_VALIDATION_FAILED"
    return PlexError(400, {"code": top, "message": "The request is invalid.", "errors": [detail]})


def refused(message: str) -> PlexError:
    """400 for a valid request the tenant will not serve: no parameter is at fault."""
    return PlexError(
        400,
        {
            "code": "REQUEST_VALIDATION_FAILED",
            "message": message,
            "errors": [{"code": "REQUEST_NOT_SUPPORTED", "message": message, "metadata": []}],
        },
    )


def missing(field: str) -> PlexError:
    return invalid("ARGUMENT_REQUIRED", field, [], f"The parameter '{field}' is required.")


def rate_limited(retry_after_s: int, with_header: bool) -> PlexError:
    body = {
        "code": "TOO_MANY_REQUESTS",
        "message": f"Rate limit is exceeded. Try again in {retry_after_s} seconds.",
    }
    return PlexError(429, body, {"Retry-After": str(retry_after_s)} if with_header else None)


def server_error() -> PlexError:
    return PlexError(500, {"code": "REQUEST_PROCESSING_ERROR", "message": "An unexpected error occurred."})


def datasource_error(status: int, code: str, message: str, transaction: str) -> PlexError:
    return PlexError(status, {"errors": [{"code": code, "message": message}], "transactionNo": transaction})
