"""The directory's use cases. Every front (CLI, HTTP, LDAP) calls these and nothing below them.

Writes go to SQL in one transaction each, with their audit event; reads come from the
in-memory view. Password hashing runs outside the write transaction so that a slow hash never
holds the database's write lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from keyhall.directory import hashes as _hashes  # noqa: F401 - registers imported-hash verifiers
from keyhall.directory import validation as v
from keyhall.directory.common_passwords import is_common
from keyhall.directory.models import (
    LOCAL_SOURCE,
    Actor,
    AuditEvent,
    AuthFailure,
    AuthResult,
    Group,
    Role,
    User,
)
from keyhall.directory.passwords import Argon2Params, Passwords
from keyhall.directory.settings import SETTINGS, parse_setting, with_defaults
from keyhall.directory.view import DirectoryView
from keyhall.errors import Conflict, Forbidden, InvalidInput, NotFound
from keyhall.storage.store import Store, Writer

Clock = Callable[[], datetime]
RevocationListener = Callable[[User, str], None]
"""Told when a user's access must end everywhere: reason is disabled, deleted, password or
mandatory_2fa (the user has no second factor and one became required)."""
SettingsListener = Callable[[str, Any, Any], None]


class ExternalAuthenticator(Protocol):
    """An external directory that checks the passwords of the users it provides."""

    def handles(self, user: User | None) -> bool:
        """Whether it decides for `user` (None: a login unknown here, maybe to create)."""
        ...

    def authenticate(
        self, login: str, password: str, user: User | None, totp: str | None = None
    ) -> AuthResult: ...


def utcnow() -> datetime:
    return datetime.now(UTC)


class Directory:
    def __init__(self, store: Store, *, clock: Clock = utcnow) -> None:
        self.store = store
        self.view = DirectoryView()
        self.clock = clock
        self._passwords: Passwords | None = None
        # The OIDC provider registers here to end sessions and send back-channel logout.
        self.revocation_listeners: list[RevocationListener] = []
        # The external directory connector, when configured (keyhall.connectors).
        self.external: ExternalAuthenticator | None = None
        # Told (key, old value, new value) after a setting changed, e.g. to apply mandatory 2FA.
        self.settings_listeners: list[SettingsListener] = []
        self._settings_cache: tuple[int, dict[str, Any]] | None = None

    # -- reading -------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Bring the view up to the database's version (loading it whole the first time)."""
        return self.view.refresh(self.store)

    def _after_write(self) -> None:
        # A one-shot CLI command never loads the view; a server has it loaded and keeps it fresh.
        if self.view.loaded:
            self.view.refresh(self.store)

    def user(self, username: str) -> User:
        user = self.view.user_by_username(username)
        if user is None:
            self.refresh()
            user = self.view.user_by_username(username)
        if user is None:
            raise NotFound(f"no user named {username!r}")
        return user

    def group(self, name: str) -> Group:
        group = self.view.group_by_name(name)
        if group is None:
            self.refresh()
            group = self.view.group_by_name(name)
        if group is None:
            raise NotFound(f"no group named {name!r}")
        return group

    def settings(self) -> dict[str, Any]:
        # Every page and sign-in reads settings; a server's view tracks the directory version
        # (which every settings write bumps), so a copy taken at that version is still current.
        cached = self._settings_cache
        if self.view.loaded and cached is not None and cached[0] == self.view.version:
            return dict(cached[1])
        version = self.view.version
        values = with_defaults(self.store.settings())
        if self.view.loaded:
            self._settings_cache = (version, values)
        return dict(values)

    @property
    def passwords(self) -> Passwords:
        params = self._argon2_params()
        if self._passwords is None or self._passwords.params != params:
            self._passwords = Passwords(params)
        return self._passwords

    # -- users ---------------------------------------------------------------------------
    def create_user(
        self,
        username: str,
        email: str,
        *,
        actor: Actor,
        display_name: str | None = None,
        given_name: str | None = None,
        family_name: str | None = None,
        admin: bool = False,
        password: str | None = None,
        password_hash: str | None = None,
        groups: Sequence[str] = (),
        source: str = LOCAL_SOURCE,
        external_id: str | None = None,
    ) -> User:
        username = v.normalize_username(username)
        email = v.normalize_email(email)
        display = v.clean_name(display_name, "display_name") or username
        given, family = v.split_display_name(display)
        given = v.clean_name(given_name, "given_name") or given
        family = v.clean_name(family_name, "family_name") or family
        group_names = [v.normalize_group_name(g) for g in groups]
        if password is not None:
            self.check_password_policy(password)
            password_hash = self.passwords.hash(password)
        now = self.clock()
        with self.store.write() as w:
            self._check_unique(w, username=username, email=email)
            targets = [self._group_for_write(w, name) for name in group_names]
            # The first user of an instance owns it (seed 001: "the owner is admin by default").
            role = Role.OWNER if w.user_count() == 0 else Role.ADMIN if admin else Role.USER
            user = w.insert_user(
                {
                    "id": str(uuid.uuid4()),
                    "username": username,
                    "email": email,
                    "email_key": email.lower(),
                    "display_name": display,
                    "given_name": given,
                    "family_name": family,
                    "role": role.value,
                    "active": True,
                    "source": source,
                    "external_id": external_id,
                    "external_missing": False,
                    "password_hash": password_hash,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for group in targets:
                w.add_members(group, [user.number])
            self._audit(w, actor, "user.create", user.username, role=role.value, groups=group_names)
        self._after_write()
        return user

    def set_password(self, username: str, password: str, *, actor: Actor) -> None:
        self.check_password_policy(password)
        password_hash = self.passwords.hash(password)
        with self.store.write() as w:
            user = self._user_for_write(w, username)
            w.set_password_hash(user.id, password_hash, self.clock())
            self._audit(w, actor, "user.set_password", user.username)
        self._after_write()
        self._revoked(user, "password")

    def set_active(self, username: str, active: bool, *, actor: Actor) -> User:
        with self.store.write() as w:
            user = self._user_for_write(w, username)
            if not active and user.role is Role.OWNER:
                raise Forbidden("the owner cannot be disabled")
            user = w.update_user(user.id, {"active": active, "updated_at": self.clock()})
            self._audit(w, actor, "user.enable" if active else "user.disable", user.username)
        self._after_write()
        if not active:
            self._revoked(user, "disabled")
        return user

    def set_role(self, username: str, role: Role, *, actor: Actor) -> User:
        with self.store.write() as w:
            user = self._user_for_write(w, username)
            if user.role is Role.OWNER or role is Role.OWNER:
                raise Forbidden("the owner's role cannot be changed or given")
            user = w.update_user(user.id, {"role": role.value, "updated_at": self.clock()})
            self._audit(w, actor, "user.set_role", user.username, role=role.value)
        self._after_write()
        return user

    def update_profile(
        self,
        username: str,
        *,
        actor: Actor,
        email: str | None = None,
        display_name: str | None = None,
        given_name: str | None = None,
        family_name: str | None = None,
    ) -> User:
        values: dict[str, Any] = {}
        if email is not None:
            values["email"] = v.normalize_email(email)
            values["email_key"] = values["email"].lower()
        for key, value in (
            ("display_name", display_name),
            ("given_name", given_name),
            ("family_name", family_name),
        ):
            if value is not None:
                values[key] = v.clean_name(value, key)
        if values.get("display_name") == "":
            raise InvalidInput("display name cannot be empty", field="display_name")
        with self.store.write() as w:
            user = self._user_for_write(w, username)
            if "email" in values:
                other = w.find_user(email_key=values["email_key"])
                if other is not None and other.id != user.id:
                    raise Conflict(f"a user with email {values['email']!r} already exists")
            changed = sorted(k for k in values if k != "email_key")
            user = w.update_user(user.id, {**values, "updated_at": self.clock()})
            self._audit(w, actor, "user.update", user.username, fields=changed)
        self._after_write()
        return user

    def delete_user(self, username: str, *, actor: Actor) -> None:
        with self.store.write() as w:
            user = self._user_for_write(w, username)
            if user.role is Role.OWNER:
                raise Forbidden("the owner cannot be deleted")
            w.delete_user(user)
            self._audit(w, actor, "user.delete", user.username, id=user.id)
        self._after_write()
        self._revoked(user, "deleted")

    # -- groups --------------------------------------------------------------------------
    def create_group(
        self,
        name: str,
        *,
        actor: Actor,
        description: str = "",
        source: str = LOCAL_SOURCE,
        external_id: str | None = None,
    ) -> Group:
        name = v.normalize_group_name(name)
        description = v.clean_name(description, "description")
        now = self.clock()
        with self.store.write() as w:
            if w.find_group(name=name) is not None:
                raise Conflict(f"a group named {name!r} already exists")
            group = w.insert_group(
                {
                    "id": str(uuid.uuid4()),
                    "name": name,
                    "description": description,
                    "source": source,
                    "external_id": external_id,
                    "external_missing": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            self._audit(w, actor, "group.create", name)
        self._after_write()
        return group

    def delete_group(self, name: str, *, actor: Actor) -> None:
        with self.store.write() as w:
            group = self._group_for_write(w, name)
            w.delete_group(group)
            self._audit(w, actor, "group.delete", group.name, id=group.id)
        self._after_write()

    def add_members(self, name: str, usernames: Iterable[str], *, actor: Actor) -> list[str]:
        return self._change_members(name, usernames, actor=actor, add=True)

    def remove_members(self, name: str, usernames: Iterable[str], *, actor: Actor) -> list[str]:
        return self._change_members(name, usernames, actor=actor, add=False)

    def _change_members(
        self, name: str, usernames: Iterable[str], *, actor: Actor, add: bool
    ) -> list[str]:
        with self.store.write() as w:
            group = self._group_for_write(w, name)
            if group.source != LOCAL_SOURCE:
                raise Forbidden(f"group {group.name!r} is synced from a directory: read-only")
            users = [self._user_for_write(w, u) for u in usernames]
            by_number = {u.number: u.username for u in users}
            change = w.add_members if add else w.remove_members
            changed = [by_number[n] for n in change(group, by_number)]
            action = "group.add_members" if add else "group.remove_members"
            self._audit(w, actor, action, group.name, users=changed)
        self._after_write()
        return changed

    # -- authentication ------------------------------------------------------------------
    def authenticate(
        self,
        login: str,
        password: str,
        *,
        ip: str | None = None,
        via: str = "web",
        totp: str | None = None,
    ) -> AuthResult:
        """Check a password for a username or email: the one path every front uses.

        Users of the external directory are checked there (`totp` is passed through to
        providers that verify 2FA upstream); everyone else against the local hash.
        """
        # A user created a moment ago (CLI, another node) may not be in the view yet: ask SQL
        # rather than refreshing the view from whatever thread this is.
        user = self.view.user_by_login(login) or self.store.user_by_login(login)
        external = self.external
        if external is not None and external.handles(user):
            result = external.authenticate(login, password, user, totp)
            user = result.user or user
        else:
            result = self._check_password(user, password)
        self.store.record_audit(
            AuditEvent(
                at=self.clock(),
                actor=f"user:{user.username}" if user else "anonymous",
                action="auth.password",
                target=user.username if user else login[:128],
                outcome="success" if result.ok else str(result.failure),
                ip=ip,
                details={"via": via},
            )
        )
        return result

    def _check_password(self, user: User | None, password: str) -> AuthResult:
        passwords = self.passwords
        credentials = self.store.credentials(user.id) if user else None
        if user is None or credentials is None:
            passwords.burn(password)
            return AuthResult(None, AuthFailure.UNKNOWN_USER)
        if credentials.password_hash is None or not password:
            passwords.burn(password)
            return AuthResult(user, AuthFailure.NO_PASSWORD)
        checked = passwords.verify(credentials.password_hash, password)
        if not checked.ok:
            return AuthResult(user, AuthFailure.BAD_PASSWORD)
        # State is checked after the password so that a guesser learns nothing about it.
        if not credentials.can_log_in:
            missing = self.view.users.get(user.id)
            reason = (
                AuthFailure.EXTERNAL_MISSING
                if missing is not None and missing.external_missing
                else AuthFailure.DISABLED
            )
            return AuthResult(user, reason)
        if checked.needs_rehash:
            with self.store.write() as w:
                w.set_password_hash(user.id, passwords.hash(password), self.clock())
        return AuthResult(user)

    def check_password_policy(self, password: str) -> None:
        minimum = int(self.settings()["password_min_length"])
        if len(password) < minimum:
            raise InvalidInput(
                f"password too short: at least {minimum} characters", field="password"
            )
        if len(password) > 1024:
            raise InvalidInput("password too long: at most 1024 characters", field="password")
        if is_common(password):
            raise InvalidInput(
                "this password is one of the most commonly used ones; choose another",
                field="password",
            )

    # -- settings ------------------------------------------------------------------------
    def set_setting(self, key: str, raw: str, *, actor: Actor) -> Any:
        value = parse_setting(key, raw)
        old = self.settings()[key]
        with self.store.write() as w:
            w.set_setting(key, value)
            self._audit(w, actor, "settings.set", key, value=value)
        self._settings_cache = None
        for listener in self.settings_listeners:
            listener(key, old, value)
        return value

    def _argon2_params(self) -> Argon2Params:
        s = self.settings()
        return Argon2Params(
            memory_kib=int(s["argon2_memory_kib"]),
            time_cost=int(s["argon2_time_cost"]),
            parallelism=int(s["argon2_parallelism"]),
        )

    # -- helpers -------------------------------------------------------------------------
    def _check_unique(self, w: Writer, *, username: str, email: str) -> None:
        if w.find_user(username=username) is not None:
            raise Conflict(f"a user named {username!r} already exists")
        if w.find_user(email_key=email.lower()) is not None:
            raise Conflict(f"a user with email {email!r} already exists")

    def _user_for_write(self, w: Writer, username: str) -> User:
        user = w.find_user(username=username.strip().lower())
        if user is None:
            raise NotFound(f"no user named {username!r}")
        return user

    def _group_for_write(self, w: Writer, name: str) -> Group:
        group = w.find_group(name=name.strip().lower())
        if group is None:
            raise NotFound(f"no group named {name!r}")
        return group

    def _revoked(self, user: User, reason: str) -> None:
        for listener in self.revocation_listeners:
            listener(user, reason)

    def _audit(self, w: Writer, actor: Actor, action: str, target: str, **details: Any) -> None:
        w.audit(
            AuditEvent(
                at=self.clock(),
                actor=str(actor),
                action=action,
                target=target,
                outcome="success",
                ip=actor.ip,
                details=details,
            )
        )


__all__ = ["SETTINGS", "Directory", "utcnow"]
