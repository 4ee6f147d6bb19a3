"""Secret masking, shared by configuration errors and the log filter (`plex_cdf.observe`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
# Keys whose values are secrets wherever they appear in a configuration tree.
SECRET_KEYS = frozenset({"secret", "api-key", "api-secret", "password"})


# Credentials no configuration holds (OAuth access tokens): masked by shape, the prefix kept readable.
_TOKEN_SHAPES = re.compile(
    r"(?i)(\bbearer\s+|[\"']?access_token[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._~+/=-]{8,}"
)


class SecretMasker:
    """Replaces every secret, the forms it takes in URLs and JSON, and bearer/access tokens with `***`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms = {form for secret in secrets if secret for form in _written_forms(secret)}
        ordered = sorted(forms, key=len, reverse=True)  # longest first: no half-masked overlaps
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        text = text if self._pattern is None else self._pattern.sub(MASK, text)
        return _TOKEN_SHAPES.sub(lambda match: match.group(1) + MASK, text)


def _written_forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """The text with every secret (also URL- or JSON-encoded) replaced by `***`."""
    return SecretMasker(secrets)(text)


def secrets_in_tree(tree: Any) -> list[str]:
    """The values under secret keys of a raw (not yet validated) configuration tree."""
    if isinstance(tree, dict):
        found = [str(v) for k, v in tree.items() if k in SECRET_KEYS and isinstance(v, str | int | float)]
        return found + [s for value in tree.values() for s in secrets_in_tree(value)]
    if isinstance(tree, list):
        return [s for value in tree for s in secrets_in_tree(value)]
    return []
