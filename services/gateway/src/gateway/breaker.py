"""A circuit breaker per upstream service: stop hammering a service that keeps failing.

Closed: calls go through. After `failure_threshold` consecutive failures it opens and every
call fails at once for `reset_after_s`; then one probe call is let through (half-open) and its
outcome closes or re-opens the circuit.
"""

from __future__ import annotations

import math
import time
from enum import StrEnum


class BreakerState(StrEnum):
    """Where a breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive failures of one upstream and decides whether to call it."""

    def __init__(self, name: str, *, failure_threshold: int, reset_after_s: float) -> None:
        self.name = name
        self.failure_threshold = max(1, failure_threshold)
        self.reset_after_s = reset_after_s
        self.failures = 0
        self.opened_at: float | None = None
        self._probe_in_flight = False

    @property
    def state(self) -> BreakerState:
        """The current state (an open breaker turns half-open once its cool-down has passed)."""
        if self.opened_at is None:
            return BreakerState.CLOSED
        if time.monotonic() - self.opened_at >= self.reset_after_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """True when a call may go to the upstream now (one probe at a time when half-open)."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probe_in_flight:
            self._probe_in_flight = True
            return True
        return False

    def retry_after(self) -> int:
        """Seconds until the next probe may go through (for Retry-After)."""
        if self.opened_at is None:
            return 1
        return max(1, math.ceil(self.reset_after_s - (time.monotonic() - self.opened_at)))

    def record_success(self) -> None:
        """The upstream answered: close the circuit."""
        self.failures = 0
        self.opened_at = None
        self._probe_in_flight = False

    def record_failure(self) -> None:
        """The upstream failed (unreachable, timed out or 502-504): maybe open the circuit."""
        self.failures += 1
        self._probe_in_flight = False
        if self.opened_at is not None or self.failures >= self.failure_threshold:
            self.opened_at = time.monotonic()
