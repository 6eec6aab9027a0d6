"""Running a sync: one at a time across nodes (database lease), fetch, plan, apply, report.

The plan is applied in one directory transaction, so every node sees the whole sync at once
or not at all; each run, applied, aborted or failed, leaves a report row and an audit event.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from keyhall.connectors.entries import ExternalGroup
from keyhall.connectors.ldap_source import DirectoryUnavailable, LdapSource
from keyhall.connectors.plan import SOURCE, SyncPlan, plan_sync
from keyhall.connectors.settings import ExternalConfig
from keyhall.directory.models import Actor, AuditEvent
from keyhall.directory.service import Directory
from keyhall.errors import Conflict
from keyhall.storage import external_store as xs
from keyhall.storage import tables as t
from keyhall.storage.external_store import ExternalStore

LEASE = "external-sync"
LEASE_TTL = timedelta(minutes=30)
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(slots=True)
class SyncReport:
    trigger: str
    dry_run: bool
    started_at: datetime
    status: str = "ok"
    """ok, aborted (the deactivation guard), failed (directory or database error)."""
    created: int = 0
    updated: int = 0
    disabled: int = 0
    restored: int = 0
    groups_created: int = 0
    groups_updated: int = 0
    memberships_changed: int = 0
    conflicts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    duration_ms: int = 0
    finished_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "dry_run": self.dry_run,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at or self.started_at,
            "created": self.created,
            "updated": self.updated,
            "disabled": self.disabled,
            "restored": self.restored,
            "groups_created": self.groups_created,
            "groups_updated": self.groups_updated,
            "memberships_changed": self.memberships_changed,
            "conflicts": self.conflicts,
            "errors": self.errors,
            "duration_ms": self.duration_ms,
        }


def run_sync(
    directory: Directory,
    config: ExternalConfig,
    *,
    actor: Actor,
    trigger: str = "manual",
    dry_run: bool = False,
) -> SyncReport:
    """Sync once, unless another node is syncing (then raise Conflict)."""
    xstore = ExternalStore(directory.store)
    started = directory.clock()
    if not xstore.acquire_lease(LEASE, HOLDER, started, LEASE_TTL):
        raise Conflict("another sync is running (on this or another node)")
    report = SyncReport(trigger, dry_run, started)
    clock = time.monotonic()
    try:
        _run(directory, xstore, config, report)
    except DirectoryUnavailable as exc:
        report.status = "failed"
        report.errors.append(exc.message)
    finally:
        xstore.release_lease(LEASE, HOLDER)
    report.duration_ms = int((time.monotonic() - clock) * 1000)
    report.finished_at = directory.clock()
    if not dry_run:
        xstore.record_run(report.as_dict(), _audit(report, actor))
    if directory.view.loaded:
        directory.refresh()
    return report


def _run(
    directory: Directory, xstore: ExternalStore, config: ExternalConfig, report: SyncReport
) -> None:
    source = LdapSource(config)
    with source.connection() as conn:
        users = source.fetch_users(conn)
        groups: list[ExternalGroup] = []
        if config.sync_groups or config.group_mappings:
            groups = source.fetch_groups(conn)
    plan = plan_sync(config, xstore.snapshot(), users, groups, report.started_at)
    _fill(report, plan)
    if plan.abort is not None:
        report.status = "aborted"
        report.errors.append(plan.abort)
        return
    if not report.dry_run:
        report.memberships_changed = apply(directory, plan)


def _fill(report: SyncReport, plan: SyncPlan) -> None:
    report.created = len(plan.create_users)
    report.updated = plan.updated
    report.disabled = len(plan.deactivated)
    report.restored = len(plan.restored)
    report.groups_created = len(plan.create_groups)
    report.groups_updated = len(plan.update_groups)
    report.memberships_changed = len(plan.add_members) + len(plan.remove_members)
    report.conflicts = plan.conflicts
    report.errors = plan.errors


def apply(directory: Directory, plan: SyncPlan) -> int:
    """Write the plan in one transaction; return how many memberships changed."""
    with directory.store.write() as w:
        if plan.renames:
            # Move renamed users out of the way first, so swaps never trip a unique index.
            xs.update_users(
                w,
                [(n, {"username": f"~{n}", "email_key": f"~{n}"}) for n in plan.renames],
            )
        xs.update_users(w, plan.update_users)
        xs.insert_users(w, plan.create_users)
        xs.update_groups(w, plan.update_groups)
        xs.insert_groups(w, plan.create_groups)
        users = xs.numbers_by_external_id(w, SOURCE, t.users)
        groups = xs.numbers_by_external_id(w, SOURCE, t.groups)

        def pair(ref: tuple[str, Any], ext_id: str) -> tuple[int, int] | None:
            group = groups.get(ref[1]) if ref[0] == "ext" else ref[1]
            user = users.get(ext_id)
            return None if group is None or user is None else (group, user)

        adds = [p for p in (pair(r, e) for r, e in plan.add_members) if p is not None]
        removes = [p for p in (pair(r, e) for r, e in plan.remove_members) if p is not None]
        xs.change_members(w, sorted(set(adds)), sorted(set(removes)))
    return len(set(adds)) + len(set(removes))


def _audit(report: SyncReport, actor: Actor) -> AuditEvent:
    return AuditEvent(
        at=report.finished_at or report.started_at,
        actor=str(actor),
        action="external.sync",
        target=report.trigger,
        outcome="success" if report.status == "ok" else report.status,
        ip=actor.ip,
        details={
            k: report.as_dict()[k]
            for k in (
                "created",
                "updated",
                "disabled",
                "restored",
                "groups_created",
                "groups_updated",
                "memberships_changed",
                "duration_ms",
            )
        }
        | {"conflicts": len(report.conflicts), "errors": report.errors[:20]},
    )


def last_run_at(xstore: ExternalStore) -> datetime | None:
    runs = xstore.runs(limit=1)
    return runs[0]["started_at"] if runs else None


def utcnow() -> datetime:
    return datetime.now(UTC)
