"""The one exception tree. Foreign errors are translated at one seam with `raise … from`.

AggregatorError
├── ConfigError          bad config file / value (CLI exit 2); names the key
├── UsageError           a command's argument names nothing usable (CLI exit 2)
├── SourceError          a source's poll failed; `kind` classifies it for state/metrics
│   ├── FetchError       transport or HTTP level (timeout, connect, tls, http_404, …)
│   └── ParseError       body is not a usable feed (not_a_feed, malformed, entities, …)
├── StoreError           the database refused an operation
└── OutputError          the outputs could not be written (what is stored is kept)
"""

from __future__ import annotations

from typing import Any, Literal

FetchKind = Literal[
    "timeout",
    "connect",
    "tls",
    "http_404",
    "http_410",
    "http_429",
    "http_4xx",
    "http_5xx",
    "too_large",
    "redirect_loop",
    "too_many_redirects",
    "bad_url",
    "io",
]
ParseKind = Literal[
    "empty", "not_a_feed", "malformed", "entities", "encoding", "api_error", "no_article"
]
# Every label a failed poll is recorded and counted under (state, /healthz, metrics).
ErrorKind = FetchKind | ParseKind | Literal["worker_crashed", "store", "internal"]


class AggregatorError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(AggregatorError):
    """The configuration is unusable; `key` names the offending setting."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class UsageError(AggregatorError):
    """A command's argument matches nothing (e.g. an unknown source name); says what might."""


class SourceError(AggregatorError):
    """A source could not be polled; `kind` is a short stable label (metrics, state)."""

    kind: ErrorKind

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # Parse errors cross the process boundary of the worker pool: keep kind and message.
        return (_rebuild, (type(self), self.kind, self.message, dict(self.__dict__)))


def _rebuild(cls: type[SourceError], kind: ErrorKind, message: str, state: dict[str, Any]) -> Any:
    err = cls.__new__(cls)
    SourceError.__init__(err, kind, message)
    err.__dict__.update(state)
    return err


class FetchError(SourceError):
    """Fetching failed; `kind` is one of `FetchKind`."""

    def __init__(
        self,
        kind: FetchKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(kind, message)
        self.status = status
        self.retry_after = retry_after


class ParseError(SourceError):
    """The body is not a usable feed; `kind` is one of `ParseKind`."""

    def __init__(self, kind: ParseKind, message: str) -> None:
        super().__init__(kind, message)


class StoreError(AggregatorError):
    """The database failed."""


def classify(exc: BaseException) -> ErrorKind:
    """A stable short label for any failure: the SourceError kind, 'store' for the
    database, else 'internal'."""
    if isinstance(exc, SourceError):
        return exc.kind
    if isinstance(exc, StoreError):
        return "store"
    return "internal"


class OutputError(AggregatorError):
    """The outputs could not be written (a full disk, a folder that is not writable): the
    stored articles are kept and the next publish writes them."""
