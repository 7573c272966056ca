"""`aggregator once`: poll every source once, publish, exit — without the daemon's imports."""

from __future__ import annotations

import asyncio
import logging
import time

from .dates import utcnow
from .errors import OutputError
from .fetch import Fetcher
from .models import PollResult, Settings
from .outputs import Skipped, find_missing, publish
from .poll import Pipeline, poll_all
from .progress import Progress
from .store import Store
from .workers import Workers

log = logging.getLogger(__name__)

OK_STATUSES = ("ok", "not_modified", "unchanged")


async def run_once(settings: Settings) -> int:
    """Poll every source once, publish, return the exit code (0 all fetched, 1 some failed).

    Each failure is logged once, by the poll; the run ends with one summary line."""
    started = time.monotonic()
    # Config discovery may have picked a file the user did not think of: say which, and
    # where its relative paths led, before anything is written there.
    log.info(
        "once: config %s; database %s; output %s",
        settings.config_path,
        settings.storage_path.resolve(),
        settings.output.dir.resolve(),
    )
    store = Store(settings.storage_path, settings.dedup)
    workers = Workers(settings.workers)
    try:
        find_missing(settings, store)  # a post or page deleted since: written again below
        async with Fetcher(settings.fetch) as fetcher:
            p = Pipeline(settings, store, fetcher, None, workers=workers)
            shown = Progress("polling sources", len(settings.sources))
            results = await poll_all(p, settings.sources, utcnow(), shown)
            shown.done()
        left_out: list[Skipped] = []
        publishing = asyncio.ensure_future(
            asyncio.to_thread(publish, settings, store, workers, progress=True, skipped=left_out)
        )
        try:
            written = await asyncio.shield(publishing)
        except asyncio.CancelledError:
            # Ctrl-C: the thread publishes on regardless, and closing its store and workers
            # under it can crash the process. They are closed once it has ended.
            await asyncio.wait({publishing})
            raise
        except OSError as exc:
            where = exc.filename or settings.output.dir
            raise OutputError(
                f"cannot write the outputs ({where}: {exc.strerror or exc}); what was fetched"
                " is stored and will be published by the next run"
            ) from exc
    finally:
        workers.close()
        store.close()
    skipped = len({s.id for s in left_out})
    log.info("%s", summary(results, len(written), time.monotonic() - started, skipped))
    return 0 if all(r.status in OK_STATUSES for r in results) else 1


def summary(results: list[PollResult], files: int, seconds: float, skipped: int = 0) -> str:
    failed = [r.source for r in results if r.status not in OK_STATUSES]
    total = {k: sum(getattr(r, k) for r in results) for k in ("new", "updated", "merged")}
    return (
        f"once: sources {len(results) - len(failed)} ok, {len(failed)} failed"
        + (f" ({', '.join(failed)})" if failed else "")
        + f"; articles {total['new']} new, {total['updated']} updated, {total['merged']} merged"
        + f"; {files} file(s) written"
        + (f", {skipped} article(s) left out (could not be rendered)" if skipped else "")
        + f"; {seconds:.1f}s"
    )
