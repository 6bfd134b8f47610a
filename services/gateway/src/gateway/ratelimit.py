"""Token-bucket rate limits per API key, per user and per anonymous client address.

The buckets live in the gateway process: with N gateway replicas behind a load balancer a
caller gets up to N times the configured rate. That is the trade for keeping the check off
the network on every request; a shared store can replace `RateLimiter` when that matters.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

from shared.problems import Problem

# Buckets not touched for this long are full again anyway, so they can be forgotten.
_IDLE_BUCKETS_KEPT = 50_000


class RateLimiter:
    """Token buckets by key: capacity `burst`, refilled at `per_minute` tokens a minute."""

    def __init__(self) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, *, per_minute: int, burst: int) -> float:
        """Take one token; return 0 when allowed, else the seconds until a token is back."""
        now = time.monotonic()
        rate = per_minute / 60.0
        tokens, stamp = self._buckets.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - stamp) * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            self._buckets.move_to_end(key)
            if len(self._buckets) > _IDLE_BUCKETS_KEPT:
                self._buckets.popitem(last=False)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / rate if rate > 0 else 60.0

    def check(self, key: str, *, per_minute: int, burst: int) -> None:
        """Raise 429 with Retry-After when `key` has no token left."""
        wait = self.take(key, per_minute=per_minute, burst=burst)
        if wait > 0:
            raise Problem(
                429,
                "rate_limited",
                f"rate limit of {per_minute} requests a minute exceeded",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
