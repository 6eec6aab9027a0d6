"""Reading the audit log: filters by action, actor, target and time range, newest first, paged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from keyhall.directory.listing import Page, page_of
from keyhall.directory.models import AuditEvent
from keyhall.storage import tables as t
from keyhall.storage.store import Store, utc


@dataclass(frozen=True, slots=True)
class AuditFilter:
    action: str | None = None
    """An exact action (`user.create`) or a prefix ending in a dot (`user.`)."""
    actor: str | None = None
    """An exact actor (`user:alice`, `token:ci`)."""
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    outcome: str | None = None


def _conditions(f: AuditFilter) -> list[Any]:
    c = t.audit_events.c
    where: list[Any] = []
    if f.action:
        if f.action.endswith("."):
            # Escaped LIKE: an action can't hold % or _ wildcards by accident.
            pattern = f.action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(c.action.like(pattern + "%", escape="\\"))
        else:
            where.append(c.action == f.action)
    if f.actor:
        where.append(c.actor == f.actor)
    if f.target:
        where.append(c.target == f.target)
    if f.outcome:
        where.append(c.outcome == f.outcome)
    # SQLite keeps timestamps as UTC text without an offset: compare in UTC on both engines.
    if f.since is not None:
        where.append(c.at >= f.since.astimezone(UTC))
    if f.until is not None:
        where.append(c.at < f.until.astimezone(UTC))
    return where


def search(store: Store, f: AuditFilter, *, offset: int = 0, limit: int = 50) -> Page[AuditEvent]:
    page_of((), offset, limit)  # validates offset and limit before any SQL runs
    where = _conditions(f)
    table = t.audit_events
    query = sa.select(table).where(*where).order_by(table.c.id.desc()).offset(offset).limit(limit)
    count = sa.select(sa.func.count()).select_from(table).where(*where)
    with store.engine.connect() as conn:
        total = int(conn.execute(count).scalar_one())
        rows = conn.execute(query).all()
    events = [
        AuditEvent(
            id=r.id,
            at=utc(r.at),
            actor=r.actor,
            action=r.action,
            target=r.target,
            outcome=r.outcome,
            ip=r.ip,
            details=r.details,
        )
        for r in rows
    ]
    return Page(events, total, offset, limit)
