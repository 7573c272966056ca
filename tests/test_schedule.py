"""next_delay and classify: pure functions, checked over many seeds and with hypothesis."""

from __future__ import annotations

import itertools
import random
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.errors import FetchError, ParseError, StoreError, classify
from aggregator.schedule import MAX_RETRY_AFTER, next_delay

HOUR = 3600.0


def delays(n: int = 200, **kwargs: object) -> list[float]:
    rng = random.Random(1234)
    return [next_delay(rng=rng, **kwargs) for _ in range(n)]  # type: ignore[arg-type]


def test_success_is_interval_with_ten_percent_jitter() -> None:
    got = delays(interval=300.0, error_count=0)
    assert all(270.0 <= d <= 330.0 for d in got)
    assert max(got) - min(got) > 30.0  # really jittered, not constant


def test_rss_ttl_is_a_floor() -> None:
    assert min(delays(interval=300.0, error_count=0, ttl_minutes=60)) == 3600.0
    assert min(delays(interval=300.0, error_count=0, ttl_minutes=1)) >= 270.0  # below interval


@pytest.mark.parametrize("retry_after", [None, 0.0, -5.0])
def test_without_a_server_floor_a_short_interval_stays_short(retry_after: float | None) -> None:
    got = delays(interval=0.2, error_count=0, retry_after=retry_after)
    assert all(0.18 <= d <= 0.22 for d in got)
    failing = delays(interval=0.2, error_count=1, retry_after=retry_after)
    assert all(0.2 <= d <= 0.4 for d in failing)


def test_a_ttl_above_the_interval_is_the_delay() -> None:
    assert set(delays(interval=10.0, error_count=0, ttl_minutes=1)) == {60.0}
    assert set(delays(interval=10.0, error_count=0, ttl_minutes=2)) == {120.0}


@pytest.mark.parametrize("ttl", [0, -1, None])
def test_no_ttl_leaves_the_interval(ttl: int | None) -> None:
    assert all(9.0 <= d <= 11.0 for d in delays(interval=10.0, error_count=0, ttl_minutes=ttl))


def test_max_age_or_retry_after_is_a_floor_on_success() -> None:
    assert min(delays(interval=300.0, error_count=0, retry_after=900.0)) == 900.0


def test_failures_back_off_exponentially() -> None:
    medians = [
        statistics.median(delays(interval=60.0, error_count=n, max_backoff=10 * HOUR))
        for n in range(1, 7)
    ]
    for previous, current in itertools.pairwise(medians):
        assert 1.6 < current / previous < 2.4


@pytest.mark.parametrize("errors", [1, 2, 3, 5])
def test_failure_delay_is_jittered_within_its_band(errors: int) -> None:
    ceiling = 60.0 * 2**errors
    got = delays(interval=60.0, error_count=errors)
    assert all(ceiling / 2 <= d <= ceiling for d in got)
    assert len({round(d, 3) for d in got}) > 100  # spread, so failing sources drift apart


def test_a_failing_source_is_never_polled_sooner_than_a_healthy_one() -> None:
    assert min(delays(interval=300.0, error_count=1)) >= 300.0


def test_backoff_is_capped_and_never_gives_up() -> None:
    for errors in (10, 100, 10_000):
        got = delays(interval=300.0, error_count=errors, max_backoff=4 * HOUR)
        assert all(2 * HOUR <= d <= 4 * HOUR for d in got)


def test_retry_after_is_honoured_on_failure() -> None:
    assert min(delays(interval=60.0, error_count=1, retry_after=2 * HOUR)) == 2 * HOUR
    huge = delays(interval=60.0, error_count=1, retry_after=10**9)
    assert max(huge) == MAX_RETRY_AFTER  # honoured, but never "forever"


@given(
    interval=st.floats(min_value=1.0, max_value=86_400.0),
    errors=st.integers(min_value=0, max_value=10**6),
    retry_after=st.none() | st.floats(min_value=-10.0, max_value=10**7),
    ttl=st.none() | st.integers(min_value=-5, max_value=10_000),
    seed=st.integers(),
)
def test_delay_is_always_positive_finite_and_bounded(
    interval: float, errors: int, retry_after: float | None, ttl: int | None, seed: int
) -> None:
    delay = next_delay(
        interval=interval,
        error_count=errors,
        retry_after=retry_after,
        ttl_minutes=ttl,
        rng=random.Random(seed),
        max_backoff=4 * HOUR,
    )
    assert 0 < delay < float("inf")
    bound = max(interval * 1.1, 4 * HOUR, (ttl or 0) * 60, min(retry_after or 0, MAX_RETRY_AFTER))
    assert delay <= bound
    if retry_after is not None:
        assert delay >= min(retry_after, MAX_RETRY_AFTER)


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (FetchError("timeout", "slow"), "timeout"),
        (FetchError("http_410", "gone", status=410), "http_410"),
        (ParseError("not_a_feed", "html"), "not_a_feed"),
        (StoreError("disk full"), "store"),
        (ValueError("bug"), "internal"),
        (KeyboardInterrupt(), "internal"),
    ],
)
def test_classify(exc: BaseException, kind: str) -> None:
    assert classify(exc) == kind
