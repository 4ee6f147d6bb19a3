"""Data Source API answers made uniform: both response shapes, every spelling of the row-limit flag, and
the halving of a date window that hit the row limit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from plex_cdf.windows import TimeRange

# Plex's own pages spell the flag two ways at the top level; a table may carry its own.
ROW_LIMIT_FLAGS = ("rowLimitExceeded", "rowLimitedExceeded", "limitExceeded")

# A window this short that still hits the row limit cannot be split further usefully.
MIN_SPLIT = timedelta(seconds=1)


@dataclass(frozen=True)
class DataSourceAnswer:
    rows: list[dict[str, Any]]
    row_limit_hit: bool
    transaction_no: str | None
    outputs: dict[str, Any]


class UnexpectedShape(ValueError):
    """The body is not a Data Source answer in either documented shape."""


def read_answer(body: Any) -> DataSourceAnswer:
    """Rows as dicts from either shape: `format=2` (`rows` of objects) or the default (`tables[0]` with
    `columns` and positional `rows`); the row-limit flag under any of its spellings, top level or table."""
    if not isinstance(body, dict):
        raise UnexpectedShape(f"expected a JSON object, got {type(body).__name__}")
    tables = body.get("tables")
    if isinstance(body.get("rows"), list):
        rows = [_as_row(row) for row in body["rows"]]
        limited = _flagged(body)
    elif isinstance(tables, list):
        rows, limited = _rows_of_tables(tables)
        limited = limited or _flagged(body)
    else:
        raise UnexpectedShape("neither 'rows' nor 'tables' in the answer")
    outputs = body.get("outputs")
    transaction = body.get("transactionNo")
    return DataSourceAnswer(
        rows=rows,
        row_limit_hit=limited,
        transaction_no=str(transaction) if transaction is not None else None,
        outputs=outputs if isinstance(outputs, dict) else {},
    )


def _flagged(holder: Mapping[str, Any]) -> bool:
    return any(holder.get(flag) is True for flag in ROW_LIMIT_FLAGS)


def _as_row(row: Any) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise UnexpectedShape(f"a 'rows' entry is {type(row).__name__}, not an object")
    return row


def _rows_of_tables(tables: list[Any]) -> tuple[list[dict[str, Any]], bool]:
    rows: list[dict[str, Any]] = []
    limited = False
    for table in tables:
        if not isinstance(table, dict):
            raise UnexpectedShape("a 'tables' entry is not an object")
        columns = [str(c.get("name") if isinstance(c, dict) else c) for c in table.get("columns") or []]
        for values in table.get("rows") or []:
            if not isinstance(values, list) or len(values) != len(columns):
                raise UnexpectedShape(f"a table row does not match its {len(columns)} columns")
            rows.append(dict(zip(columns, values, strict=True)))
        limited = limited or _flagged(table)
    return rows, limited


def split_window(window: TimeRange) -> tuple[TimeRange, TimeRange] | None:
    """Two halves [begin, mid) and [mid, end), mid a whole number of seconds after begin; None when the
    window is too short to split."""
    span = window.end - window.begin
    if span < 2 * MIN_SPLIT:
        return None
    mid = window.begin + timedelta(seconds=int(span.total_seconds() // 2))
    return TimeRange(window.begin, mid), TimeRange(mid, window.end)
