"""Prometheus metrics of the poller, in a registry owned by one Metrics object.

No global registry: every daemon (and every test) creates its own `Metrics`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from .models import PollResult, SourceState

# Fetches take from tens of milliseconds to the 30 s deadline.
_FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """Counters and gauges describing polls; `render()` gives the exposition text."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter(
            "aggregator_polls", "Polls by source and outcome.", ["source", "status"], registry=r
        )
        self.poll_failures = Counter(
            "aggregator_poll_failures", "Failed polls by kind.", ["source", "kind"], registry=r
        )
        self.poll_warnings = Counter(
            "aggregator_poll_warnings",
            "Polls that stored a damaged or cut document, by kind (partial, limits, skipped).",
            ["source", "kind"],
            registry=r,
        )
        self.articles = Counter(
            "aggregator_articles", "Articles stored by result.", ["result"], registry=r
        )
        self.fetch_seconds = Histogram(
            "aggregator_fetch_seconds",
            "Duration of the HTTP exchange of one poll (failed ones included).",
            ["source"],
            buckets=_FETCH_BUCKETS,
            registry=r,
        )
        self.last_success = Gauge(
            "aggregator_last_success_timestamp_seconds",
            "Unix time of the last successful poll.",
            ["source"],
            registry=r,
        )
        self.next_poll = Gauge(
            "aggregator_next_poll_timestamp_seconds",
            "Unix time of the next scheduled poll.",
            ["source"],
            registry=r,
        )
        self.error_count = Gauge(
            "aggregator_source_error_count",
            "Consecutive failed polls of a source (0 after a success).",
            ["source"],
            registry=r,
        )
        self.publish_skipped = Counter(
            "aggregator_publish_skipped",
            "Articles left out of a publish because they could not be rendered, by output.",
            ["output"],
            registry=r,
        )
        self.publish_skipped_last = Gauge(
            "aggregator_publish_skipped_articles",
            "Articles the last publish left out because they could not be rendered.",
            registry=r,
        )
        self.searches = Counter(
            "aggregator_searches",
            "Searches of the site by result: answered, cut (the time budget ran out before"
            " the page was complete), refused (too many at once).",
            ["result"],
            registry=r,
        )
        # Consecutive failures are derived from the results we observe.
        self._errors: dict[str, int] = {}

    def observe_poll(self, result: PollResult, now: datetime) -> None:
        """Record one poll outcome observed at `now` (aware)."""
        src = result.source
        self.polls.labels(source=src, status=result.status).inc()
        for kind, _ in result.warnings:
            self.poll_warnings.labels(source=src, kind=kind).inc()
        if result.fetch_seconds is not None:
            self.fetch_seconds.labels(source=src).observe(result.fetch_seconds)
        for kind, n in (
            ("new", result.new),
            ("updated", result.updated),
            ("merged", result.merged),
        ):
            self.articles.labels(result=kind).inc(n)
        if result.status in ("error", "gone"):
            kind = result.error_kind or result.status
            self.poll_failures.labels(source=src, kind=kind).inc()
            self._errors[src] = self._errors.get(src, 0) + 1
        else:
            self._errors[src] = 0
            self.last_success.labels(source=src).set(now.timestamp())
        self.error_count.labels(source=src).set(self._errors[src])
        if result.next_poll is not None:
            self.set_next_poll(src, result.next_poll)

    def restore(self, state: SourceState) -> None:
        """Start from the stored state, so a restart does not reset the per-source gauges."""
        self._errors[state.name] = state.error_count
        self.error_count.labels(source=state.name).set(state.error_count)
        if state.last_success is not None:
            self.last_success.labels(source=state.name).set(state.last_success.timestamp())
        if state.next_poll is not None:
            self.set_next_poll(state.name, state.next_poll)

    def observe_publish(self, by_output: Mapping[str, int], last_skipped: int) -> None:
        """Record one publish's articles left out per output, and how many the last
        publish that ran left out."""
        for output, n in by_output.items():
            self.publish_skipped.labels(output=output).inc(n)
        self.publish_skipped_last.set(last_skipped)

    def set_next_poll(self, source: str, when: datetime) -> None:
        """Record when `source` will be polled next."""
        self.next_poll.labels(source=source).set(when.timestamp())

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
