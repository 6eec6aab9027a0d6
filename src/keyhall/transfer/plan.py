"""Turning a file's records into a plan: what to create, update or skip, and why.

Every record is validated here, against the file itself (duplicates, member references) and
against what the database already holds (a `Snapshot`), before anything is written. All
problems are collected with their lines; a plan with problems is never applied.

Rules: an existing user or group (same username or name) is skipped unless `update`; nothing
is ever deleted; a membership is added when its user or its group is created or updated.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from keyhall.directory import hashes
from keyhall.directory import validation as v
from keyhall.directory.models import LOCAL_SOURCE, Role
from keyhall.errors import InvalidInput
from keyhall.storage.bulk import Snapshot
from keyhall.transfer import dn as dns
from keyhall.transfer.problems import MAX_REPORTED, LocatedError, Problem
from keyhall.transfer.records import GroupRecord, Item, Skipped, UserRecord

CREATE, UPDATE, SKIP = "create", "update", "skip"


@dataclass(frozen=True, slots=True)
class Options:
    update: bool = False
    hash_plaintext: bool = False


@dataclass(slots=True)
class UserChange:
    action: str
    reason: str
    record: UserRecord
    username: str
    email: str
    display_name: str
    given_name: str
    family_name: str
    role: Role
    id: str
    number: int | None
    password_hash: str | None
    cleartext: str | None = None
    """Hashed with argon2id just before applying, then dropped."""


@dataclass(slots=True)
class GroupChange:
    action: str
    reason: str
    record: GroupRecord
    name: str
    description: str
    id: str
    number: int | None


@dataclass(slots=True)
class Plan:
    users: list[UserChange] = field(default_factory=list)
    groups: list[GroupChange] = field(default_factory=list)
    memberships: set[tuple[str, str]] = field(default_factory=set)
    """(group name, username) pairs to add."""
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = {f"{kind}_{a}": 0 for kind in ("users", "groups") for a in (CREATE, UPDATE, SKIP)}
        for u in self.users:
            counts[f"users_{u.action}"] += 1
        for g in self.groups:
            counts[f"groups_{g.action}"] += 1
        counts["memberships"] = len(self.memberships)
        counts["entries_skipped"] = len(self.skipped)
        return counts


class Planner:
    def __init__(self, snapshot: Snapshot, options: Options) -> None:
        self.snap = snapshot
        self.options = options
        self.plan = Plan()
        self._user_lines: dict[str, int] = {}
        self._email_lines: dict[str, int] = {}
        self._group_lines: dict[str, int] = {}
        self._user_dns: dict[str, str] = {}
        self._group_dns: set[str] = set()
        self._other_dns: set[str] = set()
        self._numbers: set[int] = set(snapshot.user_numbers)
        self._group_numbers: set[int] = set(snapshot.group_numbers)
        self._ids: set[str] = set(snapshot.user_ids) | set(snapshot.group_ids)
        self._owner_taken = snapshot.has_owner
        self._csv_groups: list[tuple[int, str, str]] = []

    # -- intake --------------------------------------------------------------------------
    def feed(self, items: Iterable[Item]) -> Plan:
        """Plan every item; a syntax error in the file stops reading and is the last problem."""
        try:
            for item in items:
                if len(self.plan.problems) >= MAX_REPORTED:
                    break
                try:
                    self._item(item)
                except InvalidInput as exc:
                    self.plan.problems.append(Problem(item.line, exc.message))
        except LocatedError as exc:
            self.plan.problems.append(exc.problem)
            return self.plan
        self._resolve_members()
        return self.plan

    def _item(self, item: Item) -> None:
        if isinstance(item, UserRecord):
            self._user(item)
        elif isinstance(item, GroupRecord):
            self._group(item)
        else:
            self.plan.skipped.append(item)
            self._other_dns.add(dns.normalize(item.what))

    def _problem(self, line: int, message: str) -> None:
        self.plan.problems.append(Problem(line, message))

    # -- users ---------------------------------------------------------------------------
    def _user(self, r: UserRecord) -> None:
        if not r.username:
            raise InvalidInput("user has no username (uid)")
        if not r.email:
            raise InvalidInput(f"user {r.username!r} has no email address (mail)")
        username = v.normalize_username(r.username)
        email = v.normalize_email(r.email)
        display = v.clean_name(r.display_name, "display_name") or username
        given, family = v.split_display_name(display)
        given = v.clean_name(r.given_name, "given_name") or given
        family = v.clean_name(r.family_name, "family_name") or family
        password_hash, cleartext = self._password(r)
        first = self._user_lines.setdefault(username, r.line)
        if first != r.line:
            raise InvalidInput(f"duplicate username {username!r} (first at line {first})")
        email_key = email.lower()
        first = self._email_lines.setdefault(email_key, r.line)
        if first != r.line:
            raise InvalidInput(f"duplicate email {email!r} (first at line {first})")
        if r.dn:
            self._user_dns[dns.normalize(r.dn)] = username

        existing = self.snap.users.get(username)
        number: int | None
        owner = self.snap.email_owner.get(email_key)
        if owner is not None and owner != username:
            raise InvalidInput(f"email {email!r} already belongs to user {owner!r}")
        source = r.source or LOCAL_SOURCE
        if r.external_id is not None:
            holder = self.snap.user_external.get((source, r.external_id))
            if holder is not None and holder != username:
                raise InvalidInput(f"external id {r.external_id!r} already belongs to {holder!r}")
        if existing is not None:
            action, reason = (
                (UPDATE, "exists: profile and password updated")
                if self.options.update
                else (SKIP, "a user with this username exists (use --update to update)")
            )
            ident, number = existing.id, existing.number
        else:
            action, reason = CREATE, "new"
            ident = self._fresh_id(r.id)
            number = self._fresh_number(r.number, self._numbers)
        self.plan.users.append(
            UserChange(
                action, reason, r, username, email, display, given, family,
                self._role(r, action), ident, number, password_hash, cleartext,
            )
        )  # fmt: skip
        for name in r.groups:
            self._csv_groups.append((r.line, name, username))

    def _password(self, r: UserRecord) -> tuple[str | None, str | None]:
        if r.password_hash is not None and r.password is not None:
            raise InvalidInput("give either a password hash or a cleartext password, not both")
        if r.password_hash is not None:
            return hashes.check_hash(r.password_hash), None
        if r.password is not None:
            if not self.options.hash_plaintext:
                raise InvalidInput(
                    "cleartext password refused (use --hash-plaintext to hash it with argon2id)",
                    field="password",
                )
            if len(r.password) > 1024:
                raise InvalidInput("password too long: at most 1024 characters")
            return None, r.password
        return None, None

    def _role(self, r: UserRecord, action: str) -> Role:
        raw = (r.role or "user").lower()
        try:
            role = Role(raw)
        except ValueError:
            raise InvalidInput(f"role must be user, admin or owner, not {r.role!r}") from None
        if role is Role.OWNER:
            # One owner per instance: an imported owner keeps the title only on a fresh one.
            if self._owner_taken or action != CREATE:
                return Role.ADMIN
            self._owner_taken = True
        return role

    def _fresh_id(self, wanted: str | None) -> str:
        if wanted is not None:
            try:
                canonical = str(uuid.UUID(wanted))
            except ValueError:
                raise InvalidInput(f"id {wanted!r} is not a UUID") from None
            if canonical not in self._ids:
                self._ids.add(canonical)
                return canonical
        fresh = str(uuid.uuid4())
        self._ids.add(fresh)
        return fresh

    def _fresh_number(self, wanted: int | None, taken: set[int]) -> int | None:
        # Kept when free (POSIX uidNumber/gidNumber survive a move); else the database picks.
        if wanted is None or wanted in taken or not 0 < wanted < 2**31:
            return None
        taken.add(wanted)
        return wanted

    # -- groups --------------------------------------------------------------------------
    def _group(self, r: GroupRecord) -> None:
        if not r.name:
            raise InvalidInput("group has no name (cn)")
        name = v.normalize_group_name(r.name)
        description = v.clean_name(r.description, "description")
        first = self._group_lines.setdefault(name, r.line)
        if first != r.line:
            raise InvalidInput(f"duplicate group {name!r} (first at line {first})")
        if r.dn:
            self._group_dns.add(dns.normalize(r.dn))
        existing = self.snap.groups.get(name)
        number: int | None
        if existing is not None:
            action, reason = (
                (UPDATE, "exists: description updated, members added")
                if self.options.update
                else (SKIP, "a group with this name exists (use --update to add members)")
            )
            ident, number = existing[1], existing[0]
        else:
            action, reason = CREATE, "new"
            ident = self._fresh_id(r.id)
            number = self._fresh_number(r.number, self._group_numbers)
        self.plan.groups.append(GroupChange(action, reason, r, name, description, ident, number))

    # -- members -------------------------------------------------------------------------
    def _resolve_members(self) -> None:
        actions = {u.username: u.action for u in self.plan.users}
        group_actions = {g.name: g.action for g in self.plan.groups}
        for g in self.plan.groups:
            own = dns.normalize(g.record.dn) if g.record.dn else None
            for member in g.record.member_dns:
                key = dns.normalize(member)
                username = self._user_dns.get(key)
                if username is not None:
                    self._add_member(g.name, username, actions, group_actions)
                elif key in self._group_dns:
                    self.plan.warnings.append(
                        Problem(
                            g.record.line, f"nested group {member!r} skipped: groups hold users"
                        )
                    )
                elif key == own or key in self._other_dns:
                    continue  # a placeholder member (empty groupOfNames) or a non-user entry
                else:
                    self._problem(g.record.line, f"member {member!r} is not an entry of the file")
            for uid in g.record.member_uids:
                username = uid.strip().lower()
                if username in actions or username in self.snap.users:
                    self._add_member(g.name, username, actions, group_actions)
                else:
                    self._problem(g.record.line, f"member {uid!r} is not a user of the file")
        self._resolve_csv_groups(actions, group_actions)

    def _resolve_csv_groups(self, actions: dict[str, str], group_actions: dict[str, str]) -> None:
        for line, raw, username in self._csv_groups:
            try:
                name = v.normalize_group_name(raw)
            except InvalidInput as exc:
                self._problem(line, exc.message)
                continue
            if name not in group_actions:
                existing = self.snap.groups.get(name)
                record = GroupRecord(line=line, name=name)
                if existing is None:
                    change = GroupChange(CREATE, "named in a groups column", record, name, "",
                                         self._fresh_id(None), None)  # fmt: skip
                else:
                    change = GroupChange(SKIP, "exists", record, name, "", existing[1], existing[0])
                self.plan.groups.append(change)
                group_actions[name] = change.action
            self._add_member(name, username, actions, group_actions)

    def _add_member(
        self, group: str, username: str, actions: dict[str, str], group_actions: dict[str, str]
    ) -> None:
        if actions.get(username, SKIP) != SKIP or group_actions.get(group, SKIP) != SKIP:
            self.plan.memberships.add((group, username))
