"""The connector's part of the one authentication path (`Directory.authenticate`).

Directory users' passwords are checked upstream (search for exactly one entry, bind as it);
the local account's own state (active flag, role) still decides. A first login may create
the account (`auto_create`); a renamed or returning user is brought up to date on login.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from keyhall.connectors.entries import ExternalUser
from keyhall.connectors.ldap_source import LdapSource, LoginCheck, LoginOutcome
from keyhall.connectors.plan import SOURCE, cleaned, new_user_row
from keyhall.connectors.settings import ExternalConfig
from keyhall.directory import validation as v
from keyhall.directory.models import SYSTEM_ACTOR, AuditEvent, AuthFailure, AuthResult, User
from keyhall.directory.service import Directory
from keyhall.errors import Conflict, KeyhallError
from keyhall.logs import get_logger
from keyhall.storage.external_store import ExternalStore, insert_users

log = get_logger("keyhall.connectors")

_FAILURES = {
    LoginOutcome.UNKNOWN_USER: AuthFailure.UNKNOWN_USER,
    LoginOutcome.AMBIGUOUS: AuthFailure.UNKNOWN_USER,
    LoginOutcome.BAD_PASSWORD: AuthFailure.BAD_PASSWORD,
    LoginOutcome.DISABLED: AuthFailure.DISABLED,
    LoginOutcome.UNAVAILABLE: AuthFailure.EXTERNAL_UNAVAILABLE,
}


class ExternalAuthenticator:
    """Plugged into `Directory.external`; `config` returns the current effective settings."""

    def __init__(self, directory: Directory, config: Callable[[], ExternalConfig]) -> None:
        self.directory = directory
        self.config = config

    def handles(self, user: User | None) -> bool:
        if user is not None:
            return user.source == SOURCE
        config = self.config()
        return config.enabled and config.auto_create

    def authenticate(
        self, login: str, password: str, user: User | None, totp: str | None = None
    ) -> AuthResult:
        config = self.config()
        if not config.enabled:
            return AuthResult(user, AuthFailure.EXTERNAL_UNAVAILABLE)
        check = LdapSource(config).check_login(login, password, totp)
        if not check.ok or check.user is None:
            return self._failed(user, check)
        found = check.user
        if user is not None and user.external_id != found.external_id:
            # The login now names another directory entry than the account it names here.
            log.warning("external login names another entry", login=login[:64], dn=found.dn)
            return AuthResult(user, AuthFailure.UNKNOWN_USER)
        if found.disabled:
            return AuthResult(user, AuthFailure.DISABLED)
        try:
            user = self._up_to_date(config, user, found)
        except KeyhallError as exc:
            log.warning("external login not mirrored", dn=found.dn, reason=exc.message)
            return AuthResult(None, AuthFailure.UNKNOWN_USER)
        if not user.active:
            return AuthResult(user, AuthFailure.DISABLED)
        return AuthResult(user)

    def _failed(self, user: User | None, check: LoginCheck) -> AuthResult:
        if check.outcome in (LoginOutcome.AMBIGUOUS, LoginOutcome.UNAVAILABLE):
            log.warning("external login failed", outcome=str(check.outcome), detail=check.detail)
        if check.outcome is LoginOutcome.UNKNOWN_USER and user is not None:
            # Known here, gone upstream: refused like a user a sync marked missing.
            return AuthResult(user, AuthFailure.EXTERNAL_MISSING)
        return AuthResult(user, _FAILURES[check.outcome])

    def _up_to_date(self, config: ExternalConfig, user: User | None, found: ExternalUser) -> User:
        """The local account of `found`, created, linked, renamed or restored as needed."""
        directory = self.directory
        if user is None:
            # Known by its id under another name (renamed upstream since the last sync)?
            user = ExternalStore(directory.store).user_by_external_id(SOURCE, found.external_id)
        if user is None:
            return self._create(config, found)
        changes = _profile_changes(user, found)
        if not changes and not user.external_missing:
            return user
        # Seed 004 "account status forwarding": a login proves the entry is back and enabled.
        return _update(directory, user.id, {**changes, "external_missing": False})

    def _create(self, config: ExternalConfig, found: ExternalUser) -> User:
        directory = self.directory
        email_owner = directory.view.user_by_email(found.email)
        if (
            config.link_existing_by_email
            and email_owner is not None
            and email_owner.source != SOURCE
        ):
            log.warning("linking directory login to local account", username=email_owner.username)
            return _update(
                directory, email_owner.id, {"source": SOURCE, "external_id": found.external_id}
            )
        row = new_user_row(cleaned(found), directory.clock())
        # Like a sync, and unlike `create_user`, a directory user never becomes the owner.
        with directory.store.write() as w:
            for key in ("username", "email_key"):
                if w.find_user(**{key: row[key]}) is not None:
                    raise Conflict(f"{key} {row[key]!r} belongs to another account")
            insert_users(w, [row])
            user = w.find_user(id=row["id"])
            assert user is not None
            joined = []
            for name in config.auto_join_groups:
                group = w.find_group(name=name)
                if group is not None:
                    w.add_members(group, [user.number])
                    joined.append(name)
            w.audit(_event("user.create", user.username, source=SOURCE, groups=joined))
        if directory.view.loaded:
            directory.refresh()
        return user


def _update(directory: Directory, user_id: str, values: dict[str, Any]) -> User:
    if "email" in values:
        values["email_key"] = values["email"].lower()
    with directory.store.write() as w:
        user = w.update_user(user_id, {**values, "updated_at": directory.clock()})
        fields = sorted(k for k in values if k != "email_key")
        w.audit(_event("external.login_update", user.username, fields=fields))
    if directory.view.loaded:
        directory.refresh()
    return user


def _event(action: str, target: str, **details: Any) -> AuditEvent:
    return AuditEvent(
        at=datetime.now(UTC),
        actor=str(SYSTEM_ACTOR),
        action=action,
        target=target,
        outcome="success",
        details=details,
    )


def _profile_changes(user: User, found: ExternalUser) -> dict[str, Any]:
    wanted = {
        "username": v.normalize_username(found.username),
        "email": v.normalize_email(found.email),
        "display_name": v.clean_name(found.display_name, "display_name") or user.display_name,
        "given_name": v.clean_name(found.given_name, "given_name") or user.given_name,
        "family_name": v.clean_name(found.family_name, "family_name") or user.family_name,
    }
    return {k: val for k, val in wanted.items() if getattr(user, k) != val}
