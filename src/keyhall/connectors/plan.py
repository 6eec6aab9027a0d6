"""The sync plan: what to change locally so it mirrors the external directory. Pure, no I/O.

Users and groups are matched by their stable external id, never by DN or name, so renames
upstream are renames here. Names owned by local accounts are never taken over: such users are
skipped and reported (unless `link_existing_by_email` links same-email accounts). Users gone
or disabled upstream are kept but marked `external_missing`, which refuses their logins; they
come back when they reappear.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from keyhall.connectors.entries import ExternalGroup, ExternalUser, normalize_dn
from keyhall.connectors.settings import ExternalConfig
from keyhall.directory import validation as v
from keyhall.directory.models import Role
from keyhall.errors import InvalidInput
from keyhall.storage.external_store import GroupRow, Snapshot, UserRow

SOURCE = "external"
GroupRef = tuple[str, Any]
"""("ext", external id) for a synced group, ("local", number) for a local one."""


@dataclass(slots=True)
class SyncPlan:
    create_users: list[dict[str, Any]] = field(default_factory=list)
    update_users: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    renames: list[int] = field(default_factory=list)
    """Users whose username or email changes: written via placeholders to dodge uniqueness."""
    deactivated: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    create_groups: list[dict[str, Any]] = field(default_factory=list)
    update_groups: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    add_members: list[tuple[GroupRef, str]] = field(default_factory=list)
    remove_members: list[tuple[GroupRef, str]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    abort: str | None = None

    @property
    def updated(self) -> int:
        return len(self.update_users)


@dataclass(slots=True)
class _Claims:
    """Who will hold each username and email key after the sync."""

    usernames: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)

    def holder(self, username: str, email_key: str) -> str | None:
        return self.usernames.get(username) or self.emails.get(email_key)

    def claim(self, owner: str, username: str, email_key: str) -> None:
        self.usernames[username] = owner
        self.emails[email_key] = owner


@dataclass(frozen=True, slots=True)
class Cleaned:
    user: ExternalUser
    username: str
    email: str
    display_name: str
    given_name: str
    family_name: str


def plan_sync(
    config: ExternalConfig,
    snapshot: Snapshot,
    users: list[ExternalUser],
    groups: list[ExternalGroup],
    now: datetime,
) -> SyncPlan:
    plan = SyncPlan()
    by_ext = {u.external_id: u for u in snapshot.users if u.source == SOURCE and u.external_id}
    clean = _clean_users(users, plan)
    present = _plan_users(config, snapshot, by_ext, clean, plan, now)
    _plan_missing(by_ext, present, plan, now)
    base = sum(1 for u in by_ext.values() if not u.external_missing)
    if base and 100 * len(plan.deactivated) / base > config.max_deactivate_percent:
        plan.abort = (
            f"would deactivate {len(plan.deactivated)} of {base} directory users, more than "
            f"max_deactivate_percent={config.max_deactivate_percent:g}%: nothing changed"
        )
        return plan
    _plan_groups(config, snapshot, groups, clean, present, plan, now)
    return plan


def _clean_users(users: Iterable[ExternalUser], plan: SyncPlan) -> list[Cleaned]:
    out: list[Cleaned] = []
    seen: set[str] = set()
    for user in sorted(users, key=lambda u: u.dn.lower()):
        if not user.external_id:
            plan.errors.append(f"{user.dn}: no external id, skipped")
            continue
        if user.external_id in seen:
            plan.errors.append(f"{user.dn}: duplicate external id, skipped")
            continue
        seen.add(user.external_id)
        try:
            out.append(cleaned(user))
        except InvalidInput as exc:
            plan.errors.append(f"{user.dn}: {exc.message}, skipped")
    return out


def cleaned(user: ExternalUser) -> Cleaned:
    """The entry's profile under Keyhall's rules for names; raises InvalidInput if unfit."""
    username = v.normalize_username(user.username)
    email = v.normalize_email(user.email)
    display = v.clean_name(user.display_name, "display_name") or username
    given, family = v.split_display_name(display)
    given = v.clean_name(user.given_name, "given_name") or given
    family = v.clean_name(user.family_name, "family_name") or family
    return Cleaned(user, username, email, display, given, family)


def _plan_users(
    config: ExternalConfig,
    snapshot: Snapshot,
    by_ext: dict[str, UserRow],
    clean: list[Cleaned],
    plan: SyncPlan,
    now: datetime,
) -> dict[str, str]:
    """Plan creations and updates; return external id -> username of users present locally."""
    claims = _Claims()
    present_ids = {c.user.external_id for c in clean}
    local_by_email = {}
    for row in snapshot.users:
        # Local accounts, and directory users not listed this time, keep their names.
        if row.source != SOURCE or row.external_id not in present_ids:
            claims.claim(f"#{row.number}", row.username, row.email.lower())
        if row.source != SOURCE:
            local_by_email[row.email.lower()] = row
    present: dict[str, str] = {}
    linked: set[int] = set()
    for c in clean:
        ext_id = c.user.external_id
        existing = by_ext.get(ext_id)
        holder = claims.holder(c.username, c.email.lower())
        if holder is not None and holder != ext_id:
            local = local_by_email.get(c.email.lower())
            if (
                existing is None
                and local is not None
                and config.link_existing_by_email
                and local.number not in linked
                and claims.usernames.get(c.username) in (None, f"#{local.number}")
            ):
                linked.add(local.number)
                claims.claim(ext_id, c.username, c.email.lower())
                plan.update_users.append(
                    (local.number, {**_profile(c), "source": SOURCE, "external_id": ext_id})
                )
                plan.renames.append(local.number)
                present[ext_id] = c.username
                continue
            plan.conflicts.append(
                f"{c.user.dn}: username {c.username!r} or email {c.email!r} is taken by "
                "another account, skipped"
            )
            if existing is not None:
                present[ext_id] = existing.username
            continue
        claims.claim(ext_id, c.username, c.email.lower())
        present[ext_id] = c.username
        if existing is None:
            plan.create_users.append(new_user_row(c, now))
            continue
        values = {k: val for k, val in _profile(c).items() if getattr(existing, k, val) != val}
        if existing.email.lower() != c.email.lower():
            values["email_key"] = c.email.lower()
        if existing.external_missing != c.user.disabled:
            values["external_missing"] = c.user.disabled
            (plan.deactivated if c.user.disabled else plan.restored).append(c.username)
        if "username" in values or "email_key" in values:
            # Both are rewritten: apply() parks renamed rows on placeholders first.
            values.update(username=c.username, email_key=c.email.lower())
            plan.renames.append(existing.number)
        if values:
            plan.update_users.append((existing.number, {**values, "updated_at": now}))
    return present


def _plan_missing(
    by_ext: dict[str, UserRow], present: dict[str, str], plan: SyncPlan, now: datetime
) -> None:
    for ext_id, row in by_ext.items():
        if ext_id not in present and not row.external_missing:
            plan.update_users.append((row.number, {"external_missing": True, "updated_at": now}))
            plan.deactivated.append(row.username)


def _profile(c: Cleaned) -> dict[str, Any]:
    return {
        "username": c.username,
        "email": c.email,
        "email_key": c.email.lower(),
        "display_name": c.display_name,
        "given_name": c.given_name,
        "family_name": c.family_name,
    }


def new_user_row(c: Cleaned, now: datetime) -> dict[str, Any]:
    return {
        **_profile(c),
        "id": str(uuid.uuid4()),
        "role": Role.USER.value,
        "active": True,
        "source": SOURCE,
        "external_id": c.user.external_id,
        "external_missing": c.user.disabled,
        "password_hash": None,
        "created_at": now,
        "updated_at": now,
    }


def _plan_groups(
    config: ExternalConfig,
    snapshot: Snapshot,
    groups: list[ExternalGroup],
    clean: list[Cleaned],
    present: dict[str, str],
    plan: SyncPlan,
    now: datetime,
) -> None:
    user_ext = {
        u.number: u.external_id for u in snapshot.users if u.source == SOURCE and u.external_id
    }
    current = {
        g: {user_ext[n] for n in numbers if n in user_ext}
        for g, numbers in snapshot.members.items()
    }
    members = _members_by_group(config, groups, clean, present)
    if config.sync_groups:
        _plan_synced_groups(snapshot, groups, members, current, plan, now)
    _plan_mapped_groups(config, snapshot, groups, members, current, plan)
    if config.auto_join_groups:
        by_name = {g.name: g for g in snapshot.groups}
        for name in config.auto_join_groups:
            group = by_name.get(name)
            if group is None:
                plan.errors.append(f"auto_join_groups: no local group named {name!r}")
                continue
            for row in plan.create_users:
                plan.add_members.append((("local", group.number), row["external_id"]))


def _members_by_group(
    config: ExternalConfig,
    groups: list[ExternalGroup],
    clean: list[Cleaned],
    present: dict[str, str],
) -> dict[str, set[str]]:
    """External group id -> external ids of its members that exist locally."""
    kind = config.member_attribute.lower()
    by_dn = {normalize_dn(c.user.dn): c.user.external_id for c in clean}
    by_name = {c.user.username.lower(): c.user.external_id for c in clean}
    out: dict[str, set[str]] = {g.external_id: set() for g in groups}
    if kind == "memberof":
        group_by_dn = {normalize_dn(g.dn): g.external_id for g in groups}
        for c in clean:
            for dn in c.user.member_of:
                group_id = group_by_dn.get(normalize_dn(dn))
                if group_id is not None and c.user.external_id in present:
                    out[group_id].add(c.user.external_id)
        return out
    for group in groups:
        for value in group.members:
            if kind == "memberuid":
                ext_id = by_name.get(value.strip().lower())
            else:
                # RFC 4517 §3.3.21: uniqueMember may carry a trailing "#'0101'B" UID.
                ext_id = by_dn.get(normalize_dn(value.split("#", 1)[0]))
            if ext_id is not None and ext_id in present:
                out[group.external_id].add(ext_id)
    return out


def _plan_synced_groups(
    snapshot: Snapshot,
    groups: list[ExternalGroup],
    members: dict[str, set[str]],
    current: dict[int, set[str]],
    plan: SyncPlan,
    now: datetime,
) -> None:
    by_ext = {g.external_id: g for g in snapshot.groups if g.source == SOURCE and g.external_id}
    taken = {g.name: g for g in snapshot.groups}
    listed: set[str] = set()
    for group in sorted(groups, key=lambda g: g.dn.lower()):
        if not group.external_id or group.external_id in listed:
            plan.errors.append(f"{group.dn}: no or duplicate external id, skipped")
            continue
        try:
            name = v.normalize_group_name(group.name)
        except InvalidInput as exc:
            plan.errors.append(f"{group.dn}: {exc.message}, skipped")
            continue
        row = by_ext.get(group.external_id)
        owner = taken.get(name)
        if owner is not None and (row is None or owner.number != row.number):
            plan.conflicts.append(f"{group.dn}: group name {name!r} is taken, skipped")
            continue
        listed.add(group.external_id)
        taken[name] = row or GroupRow(-1, "", name, SOURCE, group.external_id, False)
        ref: GroupRef = ("ext", group.external_id)
        wanted = members.get(group.external_id, set())
        if row is None:
            plan.create_groups.append(_new_group(group, name, now))
            plan.add_members.extend((ref, ext) for ext in sorted(wanted))
            continue
        _plan_group_update(row, name, plan, now)
        have = current.get(row.number, set())
        plan.add_members.extend((ref, ext) for ext in sorted(wanted - have))
        plan.remove_members.extend((ref, ext) for ext in sorted(have - wanted))
    for ext_id, row in by_ext.items():
        # Seed 000: groups removed upstream are not deleted, only marked.
        if ext_id not in listed and not row.external_missing:
            plan.update_groups.append((row.number, {"external_missing": True, "updated_at": now}))


def _plan_group_update(row: GroupRow, name: str, plan: SyncPlan, now: datetime) -> None:
    values: dict[str, Any] = {}
    if row.name != name:
        values["name"] = name
    if row.external_missing:
        values["external_missing"] = False
    if values:
        plan.update_groups.append((row.number, {**values, "updated_at": now}))


def _new_group(group: ExternalGroup, name: str, now: datetime) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "description": "",
        "source": SOURCE,
        "external_id": group.external_id,
        "external_missing": False,
        "created_at": now,
        "updated_at": now,
    }


def _plan_mapped_groups(
    config: ExternalConfig,
    snapshot: Snapshot,
    groups: list[ExternalGroup],
    members: dict[str, set[str]],
    current: dict[int, set[str]],
    plan: SyncPlan,
) -> None:
    """Seed 004 group mappings: a local group holds exactly the directory users of its sources."""
    if not config.group_mappings:
        return
    by_dn = {normalize_dn(g.dn): g for g in groups}
    by_name = {g.name: g for g in snapshot.groups}
    wanted: dict[int, set[str]] = {}
    unsure: set[int] = set()
    for dn, local_name in config.group_mappings.items():
        local = by_name.get(local_name)
        if local is None or local.source == SOURCE:
            plan.errors.append(f"group_mappings: no local group named {local_name!r}")
            continue
        source = by_dn.get(normalize_dn(dn))
        if source is None:
            # Not seen this run (deleted, or outside groups_filter): leave the group alone.
            plan.errors.append(f"group_mappings: no external group {dn!r}")
            unsure.add(local.number)
            continue
        wanted.setdefault(local.number, set()).update(members.get(source.external_id, set()))
    for number, want in wanted.items():
        if number in unsure:
            continue
        have = current.get(number, set())
        ref: GroupRef = ("local", number)
        plan.add_members.extend((ref, ext) for ext in sorted(want - have))
        plan.remove_members.extend((ref, ext) for ext in sorted(have - want))
