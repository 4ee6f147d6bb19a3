"""The base of every configuration section: hyphen-case keys, unknown keys rejected."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


def hyphenated(name: str) -> str:
    return name.replace("_", "-")


class Section(BaseModel):
    """Every section: hyphen-case keys, unknown keys rejected, numbers accepted where text is expected."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=hyphenated,
        populate_by_name=False,
        coerce_numbers_to_str=True,
        validate_default=True,
    )
