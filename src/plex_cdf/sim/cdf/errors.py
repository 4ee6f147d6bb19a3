"""CDF's error answers: one exception type that knows its HTTP status and CDF's JSON error shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Json = dict[str, Any]


class CdfError(Exception):
    """A request CDF rejects as a whole; `body()` is what the SDK's error handler parses."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        missing: Sequence[Json] = (),
        duplicated: Sequence[Json] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.missing = list(missing)
        self.duplicated = list(duplicated)

    def body(self) -> Json:
        error: Json = {"code": self.status, "message": self.message}
        if self.missing:
            error["missing"] = self.missing
        if self.duplicated:
            error["duplicated"] = self.duplicated
        return {"error": error}


def bad_request(message: str) -> CdfError:
    return CdfError(400, message)


def missing(identifiers: Sequence[Json], message: str = "Not found") -> CdfError:
    """400 with the complete `missing` list, which the SDK turns into CogniteNotFoundError."""
    return CdfError(400, message, missing=_unique(identifiers))


def duplicated(identifiers: Sequence[Json], message: str = "Duplicate external ids") -> CdfError:
    """409 with the complete `duplicated` list, which the SDK turns into CogniteDuplicatedError."""
    return CdfError(409, message, duplicated=_unique(identifiers))


def _unique(identifiers: Sequence[Json]) -> list[Json]:
    seen: set[str] = set()
    out: list[Json] = []
    for ident in identifiers:
        key = repr(sorted(ident.items()))  # an instanceId is itself an object
        if key not in seen:
            seen.add(key)
            out.append(ident)
    return out
