"""Running an import: read → plan → (hash cleartext) → apply in one transaction → audit.

The file is read as a stream; the plan is validated whole before the single write
transaction starts, so a bad row leaves the database exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from keyhall.directory.models import Actor, AuditEvent
from keyhall.directory.service import Directory
from keyhall.storage import bulk
from keyhall.transfer import csv_format, json_format, ldif_records
from keyhall.transfer.mapping import AttributeMap
from keyhall.transfer.plan import CREATE, SKIP, UPDATE, Options, Plan, Planner, UserChange
from keyhall.transfer.problems import ImportRejected, Problem
from keyhall.transfer.records import Item

FORMATS = ("ldif", "csv", "json")
PER_ENTITY_AUDIT_LIMIT = 10_000
"""Above this many changes an import writes only its summary event (it lists the counts)."""


def detect_format(name: str) -> str:
    lowered = name.lower()
    for suffix, fmt in ((".ldif", "ldif"), (".ldf", "ldif"), (".csv", "csv")):
        if lowered.endswith(suffix):
            return fmt
    return "json"


def read_items(lines: Iterable[str], fmt: str, amap: AttributeMap | None = None) -> Iterator[Item]:
    if fmt == "ldif":
        return ldif_records.records(lines, amap)
    if fmt == "csv":
        return csv_format.read(lines, amap)
    if fmt == "json":
        return json_format.read(lines)
    raise ValueError(f"unknown format {fmt!r}")


@dataclass(slots=True)
class Report:
    dry_run: bool
    counts: dict[str, int]
    users: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    skipped_entries: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "counts": self.counts,
            "users": self.users,
            "groups": self.groups,
            "skipped_entries": self.skipped_entries,
            "warnings": self.warnings,
        }


def run_import(
    directory: Directory,
    items: Iterable[Item],
    *,
    options: Options,
    actor: Actor,
    dry_run: bool = False,
    source: str = "",
) -> Report:
    """Plan, then apply unless `dry_run`; ImportRejected (nothing written) if any problem."""
    plan = Planner(bulk.snapshot(directory.store), options).feed(items)
    if plan.problems:
        raise ImportRejected(plan.problems, source)
    if not dry_run:
        _hash_cleartext(directory, plan)
        # The view is not refreshed here: a server's refresher applies the new version on its
        # own loop within a second, and refreshing from this worker thread would race it.
        _apply(directory, plan, actor, source)
    return _report(plan, dry_run)


def _hash_cleartext(directory: Directory, plan: Plan) -> None:
    passwords = directory.passwords
    for change in plan.users:
        if change.cleartext is not None and change.action != SKIP:
            directory.check_password_policy(change.cleartext)
            change.password_hash = passwords.hash(change.cleartext)
            change.cleartext = None


def _apply(directory: Directory, plan: Plan, actor: Actor, source: str) -> None:
    now = directory.clock()
    with directory.store.write() as w:
        bulk.insert_users(
            w,
            (
                {
                    "id": u.id,
                    "number": u.number,
                    "username": u.username,
                    "email": u.email,
                    "email_key": u.email.lower(),
                    "display_name": u.display_name,
                    "given_name": u.given_name,
                    "family_name": u.family_name,
                    "role": u.role.value,
                    "active": u.record.active,
                    "source": u.record.source or "local",
                    "external_id": u.record.external_id,
                    "external_missing": u.record.external_missing,
                    "password_hash": u.password_hash,
                    "created_at": u.record.created_at or now,
                    "updated_at": u.record.updated_at or now,
                }
                for u in plan.users
                if u.action == CREATE
            ),
        )
        bulk.update_users(w, [_user_update(u, now) for u in plan.users if u.action == UPDATE])
        bulk.insert_groups(
            w,
            (
                {
                    "id": g.id,
                    "number": g.number,
                    "name": g.name,
                    "description": g.description,
                    "source": g.record.source or "local",
                    "external_id": g.record.external_id,
                    "external_missing": g.record.external_missing,
                    "created_at": g.record.created_at or now,
                    "updated_at": g.record.updated_at or now,
                }
                for g in plan.groups
                if g.action == CREATE
            ),
        )
        bulk.update_groups(
            w,
            [
                {"b_number": g.number, "description": g.description, "updated_at": now}
                for g in plan.groups
                if g.action == UPDATE and g.record.description
            ],
        )
        user_numbers, group_numbers = bulk.numbers(w)
        added = bulk.add_memberships(
            w, {(group_numbers[g], user_numbers[u]) for g, u in plan.memberships}
        )
        counts = {**plan.counts(), "memberships": added}
        bulk.insert_audit_events(w, _audit_events(plan, actor, now, counts, source))


def _user_update(u: UserChange, now: datetime) -> dict[str, Any]:
    row = {
        "b_number": u.number,
        "email": u.email,
        "email_key": u.email.lower(),
        "display_name": u.display_name,
        "given_name": u.given_name,
        "family_name": u.family_name,
        "updated_at": now,
    }
    if u.password_hash is not None:
        row["password_hash"] = u.password_hash
    return row


def _audit_events(
    plan: Plan, actor: Actor, now: datetime, counts: dict[str, int], source: str
) -> Iterator[AuditEvent]:
    def event(action: str, target: str, **details: Any) -> AuditEvent:
        return AuditEvent(now, str(actor), action, target, "success", actor.ip, details)

    yield event("import", source or "import", **counts)
    changed_users = [u for u in plan.users if u.action != SKIP]
    changed_groups = [g for g in plan.groups if g.action != SKIP]
    if len(changed_users) + len(changed_groups) > PER_ENTITY_AUDIT_LIMIT:
        return
    for u in changed_users:
        yield event(f"user.import_{u.action}", u.username, line=u.record.line)
    for g in changed_groups:
        yield event(f"group.import_{g.action}", g.name, line=g.record.line)


def _report(plan: Plan, dry_run: bool) -> Report:
    return Report(
        dry_run=dry_run,
        counts=plan.counts(),
        users=[
            {"line": u.record.line, "username": u.username, "action": u.action, "reason": u.reason}
            for u in plan.users
        ],
        groups=[
            {"line": g.record.line, "name": g.name, "action": g.action, "reason": g.reason}
            for g in plan.groups
        ],
        skipped_entries=[
            {"line": s.line, "entry": s.what, "reason": s.reason} for s in plan.skipped
        ],
        warnings=[{"line": p.line, "message": p.message} for p in plan.warnings],
    )


__all__ = ["FORMATS", "ImportRejected", "Problem", "Report", "detect_format", "run_import"]
