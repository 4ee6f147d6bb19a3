"""What a Plex client did: calls, retries, throttling and budget use, per tenant."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from plex_cdf.plex.budget import CallBudget


@dataclass
class PlexStats:
    budget: CallBudget = field(repr=False)
    calls: int = 0  # HTTP requests sent (every attempt counts)
    retries: int = 0
    status_429: int = 0
    status_5xx: int = 0
    transport_errors: int = 0  # timeouts and connection failures
    not_found_as_empty: int = 0  # Connect list 404s read as "no data"
    row_limit_splits: int = 0  # data source windows halved because the row limit was hit
    circuit_opens: int = 0
    per_endpoint: Counter[str] = field(default_factory=Counter)  # "connect:/mdm/v1/parts"; ids as {id}

    @property
    def throttled_waits(self) -> int:
        """Calls that waited for the budget (a free slot in the window, or a 429 pause)."""
        return self.budget.stats.throttled_waits

    @property
    def throttled_seconds(self) -> float:
        return self.budget.stats.throttled_seconds

    @property
    def budget_use(self) -> float:
        """Granted calls over what the budget allowed since the first call (0..1)."""
        return self.budget.utilisation()

    def summary(self) -> dict[str, object]:
        """Flat figures for logs and metrics."""
        return {
            "calls": self.calls,
            "retries": self.retries,
            "status_429": self.status_429,
            "status_5xx": self.status_5xx,
            "transport_errors": self.transport_errors,
            "not_found_as_empty": self.not_found_as_empty,
            "row_limit_splits": self.row_limit_splits,
            "circuit_opens": self.circuit_opens,
            "throttled_waits": self.throttled_waits,
            "throttled_seconds": round(self.throttled_seconds, 3),
            "paused_seconds": round(self.budget.stats.paused_seconds, 3),
            "budget_use": round(self.budget_use, 3),
            "per_endpoint": dict(self.per_endpoint),
        }
