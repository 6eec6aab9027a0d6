"""SQL for second factors, app passwords and the LDAP front's state.

Changes to a user's credentials bump the directory version and stamp the user's row with it, so
every node's view replaces that user and drops whatever it had verified for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from keyhall.directory.app_passwords import AppPassword
from keyhall.errors import Conflict
from keyhall.storage import credential_tables as ct
from keyhall.storage import tables as t
from keyhall.storage.store import Store, Writer, utc


@dataclass(frozen=True, slots=True)
class TotpRecord:
    sealed_secret: str
    confirmed: bool
    last_step: int


@dataclass(frozen=True, slots=True)
class LdapState:
    sealed_secret: str
    allowlist: list[str]
    rotated_at: datetime


def _app_password(row: Any) -> AppPassword:
    last = row.last_used_at
    return AppPassword(
        row.id, row.user_id, row.name, utc(row.created_at), None if last is None else utc(last)
    )


def touch_user(w: Writer, user_id: str) -> None:
    w.conn.execute(sa.update(t.users).where(t.users.c.id == user_id).values(version=w.version))


class CredentialStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- TOTP ----------------------------------------------------------------------------
    def totp(self, user_id: str) -> TotpRecord | None:
        with self.store.read() as conn:
            row = conn.execute(
                sa.select(
                    ct.totp_secrets.c.sealed_secret,
                    ct.totp_secrets.c.confirmed,
                    ct.totp_secrets.c.last_step,
                ).where(ct.totp_secrets.c.user_id == user_id)
            ).first()
        return None if row is None else TotpRecord(row[0], bool(row[1]), int(row[2]))

    def put_totp(
        self, w: Writer, user_id: str, sealed: str, *, confirmed: bool, now: datetime
    ) -> None:
        w.conn.execute(sa.delete(ct.totp_secrets).where(ct.totp_secrets.c.user_id == user_id))
        w.conn.execute(
            sa.insert(ct.totp_secrets).values(
                user_id=user_id,
                sealed_secret=sealed,
                confirmed=confirmed,
                last_step=0,
                created_at=now,
            )
        )
        touch_user(w, user_id)

    def confirm_totp(self, w: Writer, user_id: str, step: int) -> bool:
        done = w.conn.execute(
            sa.update(ct.totp_secrets)
            .where(ct.totp_secrets.c.user_id == user_id, ct.totp_secrets.c.last_step < step)
            .values(confirmed=True, last_step=step)
        ).rowcount
        touch_user(w, user_id)
        return bool(done)

    def delete_totp(self, w: Writer, user_id: str) -> bool:
        gone = w.conn.execute(
            sa.delete(ct.totp_secrets).where(ct.totp_secrets.c.user_id == user_id)
        ).rowcount
        touch_user(w, user_id)
        return bool(gone)

    def use_step(self, user_id: str, step: int) -> bool:
        """Record `step` as used unless it (or a later one) already was: atomic on every node."""
        with self.store.engine.begin() as conn:
            return bool(
                conn.execute(
                    sa.update(ct.totp_secrets)
                    .where(
                        ct.totp_secrets.c.user_id == user_id,
                        ct.totp_secrets.c.confirmed.is_(True),
                        ct.totp_secrets.c.last_step < step,
                    )
                    .values(last_step=step)
                ).rowcount
            )

    # -- app passwords -------------------------------------------------------------------
    def add_app_password(self, w: Writer, values: dict[str, Any]) -> AppPassword:
        try:
            w.conn.execute(sa.insert(ct.app_passwords).values(**values))
        except IntegrityError:
            raise Conflict(f"an app password named {values['name']!r} already exists") from None
        row = w.conn.execute(
            sa.select(ct.app_passwords).where(ct.app_passwords.c.id == values["id"])
        ).one()
        return _app_password(row)

    def app_passwords(self, user_id: str) -> list[AppPassword]:
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(ct.app_passwords)
                .where(ct.app_passwords.c.user_id == user_id)
                .order_by(ct.app_passwords.c.name)
            )
            return [_app_password(r) for r in rows]

    def app_password_by_digest(self, digest: str) -> AppPassword | None:
        with self.store.read() as conn:
            row = conn.execute(
                sa.select(ct.app_passwords).where(ct.app_passwords.c.digest == digest)
            ).first()
        return None if row is None else _app_password(row)

    def delete_app_password(self, w: Writer, user_id: str, name: str) -> bool:
        gone = w.conn.execute(
            sa.delete(ct.app_passwords).where(
                ct.app_passwords.c.user_id == user_id, ct.app_passwords.c.name == name
            )
        ).rowcount
        touch_user(w, user_id)
        return bool(gone)

    def mark_app_password_used(self, ident: str, now: datetime) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(
                sa.update(ct.app_passwords)
                .where(ct.app_passwords.c.id == ident)
                .values(last_used_at=now)
            )

    # -- LDAP front ----------------------------------------------------------------------
    def ldap_state(self) -> LdapState | None:
        with self.store.read() as conn:
            row = conn.execute(
                sa.select(
                    ct.ldap_state.c.sealed_secret,
                    ct.ldap_state.c.allowlist,
                    ct.ldap_state.c.rotated_at,
                ).where(ct.ldap_state.c.id == 1)
            ).first()
        return None if row is None else LdapState(row[0], list(row[1]), utc(row[2]))

    def ldap_state_for_update(self, w: Writer) -> LdapState | None:
        row = w.conn.execute(
            sa.select(
                ct.ldap_state.c.sealed_secret, ct.ldap_state.c.allowlist, ct.ldap_state.c.rotated_at
            ).where(ct.ldap_state.c.id == 1)
        ).first()
        return None if row is None else LdapState(row[0], list(row[1]), utc(row[2]))

    def put_ldap_state(self, w: Writer, state: LdapState) -> None:
        values = {
            "sealed_secret": state.sealed_secret,
            "allowlist": state.allowlist,
            "rotated_at": state.rotated_at,
        }
        updated = w.conn.execute(
            sa.update(ct.ldap_state).where(ct.ldap_state.c.id == 1).values(**values)
        ).rowcount
        if not updated:
            w.conn.execute(sa.insert(ct.ldap_state).values(id=1, **values))
