"""What a Plex client did: calls, retries, throttling and budget use, per tenant."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from plex_cdf.plex.budget import CallBudget


@dataclass
class PlexStats:
    calls: int = 0  # HTTP requests sent (every attempt counts)
    retries: int = 0
    status_429: int = 0
    status_5xx: int = 0
    transport_errors: int = 0  # timeouts and connection failures
    not_found_as_empty: int = 0  # Connect list 404s read as "no data"
    row_limit_splits: int = 0  # data source windows halved because the row limit was hit
    circuit_opens: int = 0
    per_endpoint: Counter[str] = field(default_factory=Counter)  # UUID and integer segments as {id}

    def summary(self, budget: CallBudget) -> dict[str, object]:
        """Flat figures for logs and metrics; budget use is granted calls over the budget since the first."""
        return {
            "calls": self.calls,
            "retries": self.retries,
            "status_429": self.status_429,
            "status_5xx": self.status_5xx,
            "transport_errors": self.transport_errors,
            "not_found_as_empty": self.not_found_as_empty,
            "row_limit_splits": self.row_limit_splits,
            "circuit_opens": self.circuit_opens,
            "throttled_waits": budget.stats.throttled_waits,
            "throttled_seconds": round(budget.stats.throttled_seconds, 3),
            "paused_seconds": round(budget.stats.paused_seconds, 3),
            "budget_use": round(budget.utilisation(), 3),
            "per_endpoint": dict(self.per_endpoint),
        }
