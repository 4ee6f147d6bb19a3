"""One-line, path-qualified configuration errors, and the translation of pydantic's into them."""

from __future__ import annotations

import difflib
import types
from collections.abc import Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from plex_cdf.config.masking import SECRET_KEYS

_EXPECTED = {
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected text",
    "list_type": "expected a list",
    "dict_type": "expected a mapping of keys to values",
    "model_type": "expected a mapping of keys to values",
    "model_attributes_type": "expected a mapping of keys to values",
    "uuid_parsing": "expected a UUID such as 2f6c9a0e-8d1b-4c1e-9a55-0b7e3c1d2a44",
    "uuid_type": "expected a UUID such as 2f6c9a0e-8d1b-4c1e-9a55-0b7e3c1d2a44",
}
_MAX_SHOWN = 60


class ConfigError(ValueError):
    """A configuration the product cannot run with; the message is one line that names the culprit."""


Loc = Sequence[int | str]


def format_path(loc: Loc) -> str:
    """`plex.tenants[0].pcn` from pydantic's location tuple."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(top level)"


def describe(error: ErrorDetails, model: type[BaseModel]) -> str:
    """What is wrong at one location, without its path."""
    kind = error["type"]
    loc = error["loc"]
    if kind == "extra_forbidden":
        return _unknown_key(model, loc)
    if kind == "missing":
        return "required key is missing"
    if kind == "too_short":
        return f"needs at least {error.get('ctx', {}).get('min_length', 1)} entry"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]}{_shown(error, loc)}"
    message = error["msg"].removeprefix("Value error, ")
    if kind.startswith(("literal_error", "enum", "greater_than", "less_than", "too_long", "string_too")):
        return f"{message[0].lower()}{message[1:]}{_shown(error, loc)}"
    return message


def _shown(error: ErrorDetails, loc: Loc) -> str:
    if loc and loc[-1] in SECRET_KEYS:
        return ""
    value = error.get("input")
    if isinstance(value, dict | list):
        return f", got a {'mapping' if isinstance(value, dict) else 'list'}"
    text = repr(value)
    return f", got {text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + '...'}"


def _unknown_key(model: type[BaseModel], loc: Loc) -> str:
    key = str(loc[-1])
    known = known_keys(model, loc[:-1])
    hint = key.replace("_", "-").lower()
    suggestion = hint if hint in known else next(iter(difflib.get_close_matches(key, known, n=1)), None)
    return f"unknown key{f' (did you mean {suggestion}?)' if suggestion else ''}"


def known_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys allowed at a location, found by walking the models along it."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return []
        if isinstance(part, str):
            current = _model_of_key(current, part)
    return [] if current is None else [field.alias or name for name, field in current.model_fields.items()]


def _model_of_key(model: type[BaseModel], key: str) -> type[BaseModel] | None:
    for name, field in model.model_fields.items():
        if (field.alias or name) == key:
            return _model_in(field.annotation)
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model class inside `X | None`, `list[X]` or `X` itself."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (list, Union, types.UnionType):
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def primary(error: ValidationError) -> ErrorDetails:
    """The error to show: an unknown key first (a misspelt `cognit:` explains the missing `cognite:`),
    else the first in file order."""
    details = error.errors()
    return next((d for d in details if d["type"] == "extra_forbidden"), details[0])


def first_error_line(error: ValidationError, model: type[BaseModel], where: str) -> str:
    """The primary error as `{where}{path}: {what}`, plus how many more there are."""
    first = primary(error)
    return with_count(f"{where}{format_path(first['loc'])}: {describe(first, model)}", error)


def with_count(line: str, error: ValidationError) -> str:
    more = error.error_count() - 1
    return f"{line} (and {more} more problem{'s' if more > 1 else ''})" if more else line
