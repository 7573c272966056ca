"""`aggregator once`: poll every source once, publish, exit — without the daemon's imports."""

from __future__ import annotations

import asyncio
import logging

from .dates import utcnow
from .errors import OutputError
from .fetch import Fetcher
from .models import Settings
from .outputs import publish
from .poll import Pipeline, poll_all
from .store import Store
from .workers import Workers

log = logging.getLogger(__name__)

OK_STATUSES = ("ok", "not_modified", "unchanged")


async def run_once(settings: Settings) -> int:
    """Poll every source once, publish, return the exit code (0 all fetched, 1 some failed)."""
    store = Store(settings.storage_path, settings.dedup)
    workers = Workers(settings.workers)
    try:
        async with Fetcher(settings.fetch) as fetcher:
            p = Pipeline(settings, store, fetcher, None, workers=workers)
            results = await poll_all(p, settings.sources, utcnow())
        failed = [r for r in results if r.status not in OK_STATUSES]
        for r in failed:
            log.error("%s failed: %s: %s", r.source, r.error_kind, r.error)
        try:
            await asyncio.to_thread(publish, settings, store, workers)
        except OSError as exc:
            where = exc.filename or settings.output.dir
            raise OutputError(
                f"cannot write the outputs ({where}: {exc.strerror or exc}); what was fetched"
                " is stored and will be published by the next run"
            ) from exc
    finally:
        workers.close()
        store.close()
    return 1 if failed else 0
