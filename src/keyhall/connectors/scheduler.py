"""The periodic sync: a plain asyncio task on every node; the database lease picks one.

Each node looks every POLL_SECONDS whether a sync is due (last run + `sync_interval`, plus a
per-node jitter so nodes don't all try at the same instant); a failed run is retried sooner.
The blocking work runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import datetime, timedelta

from keyhall.connectors.connector import ExternalDirectory
from keyhall.directory.models import Actor
from keyhall.errors import Conflict, KeyhallError
from keyhall.logs import get_logger
from keyhall.runtime import Instance

log = get_logger("keyhall.connectors.scheduler")

SCHEDULER_ACTOR = Actor("system", "external-sync")
POLL_SECONDS = 30.0
FIRST_LOOK_SECONDS = (1.0, 3.0)
RETRY_AFTER_FAILURE = timedelta(minutes=5)


def next_due(
    last_started: datetime | None, last_status: str | None, interval: int, jitter: float
) -> datetime | None:
    """When the next sync is due; None means now."""
    if last_started is None:
        return None
    wait = timedelta(seconds=interval * (1 + jitter))
    if last_status == "failed":
        wait = min(wait, RETRY_AFTER_FAILURE)
    return last_started + wait


async def run_scheduler(inst: Instance, stop: asyncio.Event) -> None:
    connector = ExternalDirectory(inst.directory, inst.secret_key)
    jitter = random.uniform(0.0, 0.05)
    delay = random.uniform(*FIRST_LOOK_SECONDS)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            return
        delay = POLL_SECONDS
        try:
            await asyncio.to_thread(_maybe_sync, connector, jitter)
        except Exception as exc:  # one bad run must not end the schedule
            log.warning("scheduled sync failed", error=str(exc))


def _maybe_sync(connector: ExternalDirectory, jitter: float) -> None:
    config = connector.config(fresh=True)
    if not config.enabled or config.sync_interval == 0:
        return
    runs = connector.store.runs(limit=1)
    last = runs[0] if runs else None
    due = next_due(
        last["started_at"] if last else None,
        last["status"] if last else None,
        config.sync_interval,
        jitter,
    )
    if due is not None and connector.directory.clock() < due:
        return
    try:
        report = connector.sync(actor=SCHEDULER_ACTOR, trigger="schedule")
    except Conflict:
        return  # another node holds the lease and is syncing
    except KeyhallError as exc:
        log.warning("scheduled sync not run", reason=exc.message)
        return
    log.info(
        "external sync",
        status=report.status,
        created=report.created,
        updated=report.updated,
        disabled=report.disabled,
        conflicts=len(report.conflicts),
        duration_ms=report.duration_ms,
    )
