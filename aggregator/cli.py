"""Command line: run | once | check-config, plus operator commands. No logic here."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime

from . import __version__, config
from .errors import AggregatorError, ConfigError, StoreError
from .models import Settings, SourceState
from .urls import RedactCredentials, redact, redact_text


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="aggregator",
        description="Sina Finance feed aggregator and republisher.",
    )
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument(
            "-c",
            "--config",
            metavar="CONFIG",
            help="config file (default: $AGGREGATOR_CONFIG or config/aggregator.toml)",
        )
        return p

    add("run", "daemon: poll on schedule and serve the outputs until SIGTERM/SIGINT")
    add("once", "poll every source once, write the outputs, exit (1 if a source failed)")
    add("check-config", "validate the config file and exit")
    add("status", "print every source's recorded state as JSON")
    d = add("delete", "delete an article for good (by id, URL or post slug)")
    d.add_argument("ref", help="article id (urn:uuid:…), any URL it was seen at, or its slug")
    e = add("enable", "poll a source again after a 410 Gone (and reset its backoff)")
    e.add_argument("name", help="source name as in the config")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = config.load(config.config_path(args.config, os.environ))
    except ConfigError as exc:
        print(f"aggregator: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for handler in logging.getLogger().handlers:  # no password reaches a log line
        handler.addFilter(RedactCredentials())
    try:
        return _dispatch(args, settings)
    except ConfigError as exc:  # found only when used, e.g. a port already in use
        print(f"aggregator: configuration error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"aggregator: storage error ({settings.storage_path}): {exc}", file=sys.stderr)
        return 2
    except AggregatorError as exc:
        print(f"aggregator: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `aggregator status | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "check-config":
        print(f"{settings.config_path}: OK, {len(settings.sources)} source(s)")
        for s in settings.sources:
            url = redact(s.url)
            print(f"  {s.name}: {url} every {s.interval:g}s → {' / '.join(s.categories)}")
        return 0
    # Heavy imports only for the commands that need them (start-up time of `once`).
    if args.command == "once":
        from .once import run_once

        return asyncio.run(run_once(settings))
    if args.command == "run":
        from .daemon import run_daemon

        return asyncio.run(run_daemon(settings))
    return _operator_command(args, settings)


def _operator_command(args: argparse.Namespace, settings: Settings) -> int:
    from .outputs import publish
    from .store import Store

    store = Store(settings.storage_path, settings.dedup)
    try:
        if args.command == "status":
            states = [store.source_state(s.name, s.url) for s in settings.sources]
            print(
                json.dumps(
                    [_state_json(st) for st in states], ensure_ascii=False, indent=2, default=str
                )
            )
            return 0
        if args.command == "delete":
            art = store.delete(args.ref, datetime.now(UTC))
            if art is None:
                print(f"aggregator: no article matches {args.ref!r}", file=sys.stderr)
                return 1
            publish(settings, store)
            print(f"deleted {art.id} ({art.title}); it will not come back")
            return 0
        if args.command == "enable":
            if not store.enable_source(args.name):
                print(f"aggregator: no recorded source named {args.name!r}", file=sys.stderr)
                return 1
            print(f"{args.name}: enabled; it is polled on its next turn")
            return 0
    finally:
        store.close()
    raise AssertionError(args.command)


def _state_json(st: SourceState) -> dict[str, object]:
    """A source's state as shown: passwords in its URLs and errors removed."""
    shown: dict[str, object] = asdict(st)
    for key in ("url", "configured_url", "redirect_candidate"):
        if isinstance(shown[key], str):
            shown[key] = redact(str(shown[key]))
    if st.last_error:
        shown["last_error"] = redact_text(st.last_error)
    if st.last_page_error:
        shown["last_page_error"] = redact_text(st.last_page_error)
    return shown
