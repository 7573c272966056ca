"""When to poll a source next: pure decisions, the random source passed in.

Success: the configured interval ±10 % (jitter spreads sources that started together), never
sooner than the feed's RSS <ttl> nor than what the server asked (Retry-After / max-age).
Failure n (n ≥ 1): exponential backoff with "equal jitter" — uniform in [c/2, c] where
c = min(max_backoff, interval·2^n) — so the first retry comes after one to two intervals, a
failing source is never polled more often than a healthy one, and sources failing together
drift apart; never sooner than Retry-After. There is no "give up": the delay stays bounded.
"""

from __future__ import annotations

import random

SUCCESS_JITTER = 0.10
# A server may ask for a long pause, but not for one long enough to look like "never again".
MAX_RETRY_AFTER = 7 * 24 * 3600.0
_MAX_EXPONENT = 62  # 2**62 × any sane interval already exceeds every cap


def next_delay(
    *,
    interval: float,
    error_count: int,
    retry_after: float | None = None,
    ttl_minutes: int | None = None,
    rng: random.Random,
    max_backoff: float = 4 * 3600,
) -> float:
    """Seconds until the next poll of a source after a success (error_count 0) or its
    error_count-th consecutive failure."""
    floor = min(max(retry_after or 0.0, 0.0), MAX_RETRY_AFTER)
    if error_count <= 0:
        delay = interval * rng.uniform(1 - SUCCESS_JITTER, 1 + SUCCESS_JITTER)
        # A zero or negative <ttl> is below the delay: the max() ignores it.
        ttl = (ttl_minutes or 0) * 60.0
        return max(delay, ttl, floor)
    ceiling = min(max_backoff, interval * 2.0 ** min(error_count, _MAX_EXPONENT))
    return max(rng.uniform(ceiling / 2, ceiling), floor)
