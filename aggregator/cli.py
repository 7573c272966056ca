"""Command line: run | once | check-config, plus operator commands. No logic here."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__, config, logs
from .errors import AggregatorError, ConfigError, StoreError, UsageError
from .models import Settings, SourceState
from .urls import redact, redact_text

if TYPE_CHECKING:
    from .store import Store

CONFIG_HELP = (
    "config file (default: $AGGREGATOR_CONFIG, else ./aggregator.toml, "
    "./config/aggregator.toml, then ~/.config/sina-aggregator/aggregator.toml)"
)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="aggregator",
        description="Sina Finance feed aggregator and republisher.",
    )
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")

    def common(p: argparse.ArgumentParser, default: object) -> None:
        # Accepted before and after the subcommand; the subcommand's copy only overrides
        # the top-level one when given (SUPPRESS leaves the attribute alone otherwise).
        p.add_argument("-c", "--config", metavar="CONFIG", default=default, help=CONFIG_HELP)
        p.add_argument(
            "--log-format",
            choices=logs.FORMATS,
            default=default,
            help="text (default) or json: one JSON object per line, for log shippers",
        )

    common(ap, None)
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        common(p, argparse.SUPPRESS)
        return p

    add("run", "daemon: poll on schedule and serve the outputs until SIGTERM/SIGINT")
    add("once", "poll every source once, write the outputs, exit (1 if a source failed)")
    add("reload", "make the running daemon re-read its config (SIGHUP), after checking it")
    c = add("check-config", "validate the config and what it points at, without the network")
    c.add_argument("--probe", action="store_true", help="also fetch each source once and report")
    add("status", "print every source's recorded state as JSON (reads only)")
    d = add("delete", "delete an article for good (by id, URL, post file or slug)")
    d.add_argument("ref", help="article id (urn:uuid:…), any URL of it, its post file or slug")
    e = add("enable", "poll a source again after a 410 Gone, or reset its backoff")
    e.add_argument("name", help="source name as in the config (width, case, 繁/简 ignored)")
    x = add("export-opml", "write the sources as OPML (feed readers' subscription list)")
    x.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    m = add("import-opml", "add the subscriptions of an OPML file to the config's sources")
    m.add_argument("file", help="an OPML file, e.g. exported by a feed reader")
    i = add("init", "write a commented starter config")
    i.add_argument(
        "dir",
        nargs="?",
        help="folder for aggregator.toml (default: ~/.config/sina-aggregator, with the "
        "database and outputs in ~/.local/share/sina-aggregator)",
    )
    i.add_argument(
        "--data", metavar="DIR", help="folder for the database and outputs (e.g. a volume)"
    )
    i.add_argument(
        "--host", default="127.0.0.1", help="address `run` listens on (0.0.0.0 in a container)"
    )
    i.add_argument("--force", action="store_true", help="overwrite an existing file")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    log_format: logs.LogFormat = "json" if args.log_format == "json" else "text"
    try:
        if args.command == "init":
            path = _init(args)
            print(f"wrote {path}; check it with `aggregator check-config -c {path}`")
            return 0
        settings = config.load(config.config_path(args.config, os.environ))
    except ConfigError as exc:
        print(f"aggregator: configuration error: {exc}", file=sys.stderr)
        if args.command == "reload":
            print("aggregator: nothing sent: the daemon keeps its running config", file=sys.stderr)
        return 2
    logs.setup(settings.log_level, log_format)
    try:
        return _dispatch(args, settings)
    except ConfigError as exc:  # found only when used, e.g. a port already in use
        print(f"aggregator: configuration error: {exc}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"aggregator: {exc}", file=sys.stderr)
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


def _init(args: argparse.Namespace) -> Path:
    from .starter import write_starter

    return write_starter(args.dir, os.environ, data=args.data, host=args.host, force=args.force)


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "check-config":
        return _check_config(settings, probe=args.probe)
    # Heavy imports only for the commands that need them (start-up time of `once`).
    if args.command == "once":
        from .once import run_once

        return asyncio.run(run_once(settings))
    if args.command == "run":
        from .daemon import run_daemon

        return asyncio.run(run_daemon(settings))
    if args.command == "status":
        return _status(settings)
    if args.command == "reload":
        from .pidfile import signal_daemon

        # The config was just loaded and validated: a bad one never reaches the daemon.
        pid = signal_daemon(settings.storage_path)
        print(f"sent SIGHUP to `aggregator run` (pid {pid}); its log says what changed")
        return 0
    if args.command == "export-opml":
        return _export_opml(settings, args.output)
    if args.command == "import-opml":
        return _import_opml(settings, Path(args.file))
    return _operator_command(args, settings)


def _export_opml(settings: Settings, output: str | None) -> int:
    from . import opml
    from .outputs.sources_opml import document

    data = document(settings)  # what the site publishes as sources.opml
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    from .atomic import write_atomic

    write_atomic(Path(output), data)
    print(f"wrote {len(opml.parse(data))} source(s) to {output}")
    return 0


def _import_opml(settings: Settings, file: Path) -> int:
    import tomllib

    from . import opml
    from .atomic import write_atomic

    try:
        found = opml.parse(file.read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror or exc}") from exc
    plan = opml.plan_import(found, settings.sources)
    for o, why in plan.skipped:
        print(f"skipped {o.name} ({o.url}): {why}")
    if not plan.new:
        print(f"nothing to import: {len(found)} subscription(s) in {file}, none new")
        return 0
    path = settings.config_path
    old = path.read_text(encoding="utf-8")
    text = old + ("" if old.endswith("\n") else "\n") + opml.to_toml(plan.new, f"from {file.name}")
    # The new file must be a valid config before it replaces the old one.
    try:
        config.parse(tomllib.loads(text), path)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("opml", f"the imported entries are not valid TOML: {exc}") from exc
    except ConfigError as exc:
        raise ConfigError(
            exc.key, f"{exc.problem} (in an imported entry; config unchanged)"
        ) from exc
    write_atomic(path, text.encode("utf-8"))
    for o in plan.new:
        print(f"added {o.name}: {o.url}")
    print(
        f"imported {len(plan.new)} source(s) into {path}"
        + (f", skipped {len(plan.skipped)}" if plan.skipped else "")
        + "; a running daemon picks them up with `aggregator reload`"
    )
    return 0


def _check_config(settings: Settings, *, probe: bool) -> int:
    from .checks import offline_problems
    from .normalize import categories_of

    print(f"{settings.config_path}: {len(settings.sources)} source(s)")
    for s in settings.sources:
        # The categories its articles get: the configured ones, then its name (never none).
        filed = " / ".join(categories_of(s))
        print(f"  {s.name} ({s.kind}): {redact(s.url)} every {s.interval:g}s → {filed}")
    problems = offline_problems(settings)
    from .pidfile import running_pid

    pid = running_pid(settings.storage_path)
    if pid is not None:
        print(f"`aggregator run` (pid {pid}) uses this database; `aggregator reload` applies this")
    for problem in problems:
        print(f"problem: {problem}")
    failed = 0
    if probe:
        from .checks import probe as run_probe

        for report in asyncio.run(run_probe(settings)):
            failed += not report.ok
            print(f"  {'ok' if report.ok else 'FAILED'} {report.source}: {report.detail}")
    if problems:
        print(f"{len(problems)} problem(s) found")
        return 2
    if failed:
        print(f"configuration OK; {failed} source(s) could not be fetched or parsed")
        return 1
    print("configuration OK")
    return 0


def _status(settings: Settings) -> int:
    from .store import Store

    if not settings.storage_path.is_file():  # read-only: never create the database here
        print(
            f"aggregator: no database at {settings.storage_path} yet: nothing has been polled "
            "(run `aggregator once` or `aggregator run`)",
            file=sys.stderr,
        )
        return 1
    from .outputs import skip_report

    store = Store(settings.storage_path, settings.dedup, readonly=True)
    try:
        states = [store.peek_state(s.name, s.url) for s in settings.sources]
        skipped = skip_report(store)
    finally:
        store.close()
    print(json.dumps([state_json(st) for st in states], ensure_ascii=False, indent=2))
    if skipped["skipped"]:  # not in the JSON: it lists sources, and scripts rely on that
        print(
            f"aggregator: the last publish left out {skipped['skipped']} article(s) it could"
            " not render (the log has each one):",
            file=sys.stderr,
        )
        for a in skipped["articles"]:
            print(
                f"  {a['id']} {a['title']} ({', '.join(a['outputs'])}): {a['reason']}",
                file=sys.stderr,
            )
    return 0


def state_json(st: SourceState) -> dict[str, object]:
    """A source's state for people and scripts: every field, timestamps as RFC 3339 UTC
    with `Z`, passwords in its URLs and messages removed."""
    from dataclasses import asdict

    from .dates import rfc3339

    shown: dict[str, object] = asdict(st)
    for key, value in shown.items():
        if isinstance(value, datetime):
            shown[key] = rfc3339(value)
        elif isinstance(value, str) and key in ("url", "configured_url", "redirect_candidate"):
            shown[key] = redact(value)
        elif isinstance(value, str) and key in ("last_error", "last_warning", "last_page_error"):
            shown[key] = redact_text(value)
    return shown


def post_ref(ref: str) -> str:
    """A post's file name or path (`public/posts/2021-12-17-abc.md`) → its slug; anything
    else (an id, a URL, a slug) unchanged."""
    if "://" in ref or ref.startswith("urn:"):
        return ref
    name = ref.replace("\\", "/").rsplit("/", 1)[-1]
    return name.removesuffix(".md")


def _operator_command(args: argparse.Namespace, settings: Settings) -> int:
    from .outputs import publish
    from .store import Store

    store = Store(settings.storage_path, settings.dedup)
    try:
        if args.command == "delete":
            ref = post_ref(args.ref)
            from .dates import utcnow

            now = utcnow()
            art = store.delete(ref, now)
            if art is None:
                when = store.deleted_at(ref)
                if when is not None:
                    from .dates import rfc3339

                    print(f"{args.ref}: already deleted at {rfc3339(when)}; nothing to do")
                    return 0
                print(f"aggregator: no stored article matches {args.ref!r}", file=sys.stderr)
                return 1
            publish(settings, store)
            print(f"deleted {art.id} ({art.title}, post {art.slug}.md); it will not come back")
            return 0
        if args.command == "enable":
            return _enable(settings, store, args.name)
    finally:
        store.close()
    raise AssertionError(args.command)


def _enable(settings: Settings, store: Store, typed: str) -> int:
    from .names import find_source

    name = find_source(typed, (s.name for s in settings.sources))
    source = next(s for s in settings.sources if s.name == name)
    st = store.peek_state(name, source.url)
    if not st.gone and not st.error_count:
        print(f"{name}: not gone and not backing off; nothing to enable")
        return 0
    store.enable_source(name)
    if st.gone:
        print(f"{name}: enabled again after 410 Gone; it is polled on its next turn")
    else:
        print(
            f"{name}: backoff reset after {st.error_count} failure(s) "
            f"(last: {st.last_error_kind}); it is polled on its next turn"
        )
    return 0
