"""SQL for accounts on the web: every method one short transaction, safe on several nodes.

Single-use values (recovery codes, links, WebAuthn challenges) are consumed by a conditional
UPDATE or DELETE whose row count says who won, so a replay or a race between nodes loses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from keyhall.storage import account_tables as at
from keyhall.storage import credential_tables as ct
from keyhall.storage import oidc_tables as ot
from keyhall.storage.store import Store, utc


@dataclass(frozen=True, slots=True)
class PasskeyRow:
    id: str
    """The credential id, base64url."""
    user_id: str
    name: str
    public_key: bytes
    sign_count: int
    transports: list[str]
    device_type: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    sid: str
    auth_time: datetime
    amr: list[str]
    expires_at: datetime
    clients: list[str]
    """Names of the apps signed into through this session."""


def _passkey(r: Any) -> PasskeyRow:
    return PasskeyRow(
        r.id,
        r.user_id,
        r.name,
        bytes(r.public_key),
        int(r.sign_count),
        list(r.transports),
        r.device_type,
        utc(r.created_at),
        None if r.last_used_at is None else utc(r.last_used_at),
    )


class AccountStore:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    # -- recovery codes ------------------------------------------------------------------
    def replace_recovery_codes(self, user_id: str, digests: Iterable[str], now: datetime) -> None:
        rc = at.recovery_codes
        with self.engine.begin() as conn:
            conn.execute(sa.delete(rc).where(rc.c.user_id == user_id))
            conn.execute(
                sa.insert(rc),
                [{"user_id": user_id, "digest": d, "created_at": now} for d in digests],
            )

    def use_recovery_code(self, user_id: str, digest: str, now: datetime) -> bool:
        rc = at.recovery_codes
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    sa.update(rc)
                    .where(rc.c.user_id == user_id, rc.c.digest == digest, rc.c.used_at.is_(None))
                    .values(used_at=now)
                ).rowcount
            )

    def recovery_codes_left(self, user_id: str) -> int:
        rc = at.recovery_codes
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(rc)
                    .where(rc.c.user_id == user_id, rc.c.used_at.is_(None))
                ).scalar_one()
            )

    def delete_recovery_codes(self, user_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(at.recovery_codes).where(at.recovery_codes.c.user_id == user_id))

    # -- passkeys ------------------------------------------------------------------------
    def add_passkey(self, row: PasskeyRow) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(at.webauthn_credentials).values(
                    id=row.id,
                    user_id=row.user_id,
                    name=row.name,
                    public_key=row.public_key,
                    sign_count=row.sign_count,
                    transports=row.transports,
                    device_type=row.device_type,
                    created_at=row.created_at,
                )
            )

    def passkeys(self, user_id: str) -> list[PasskeyRow]:
        wc = at.webauthn_credentials
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(wc).where(wc.c.user_id == user_id).order_by(wc.c.created_at)
            )
            return [_passkey(r) for r in rows]

    def passkey(self, credential_id: str) -> PasskeyRow | None:
        wc = at.webauthn_credentials
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(wc).where(wc.c.id == credential_id)).first()
        return None if row is None else _passkey(row)

    def passkey_used(
        self, credential_id: str, old_count: int, new_count: int, now: datetime
    ) -> bool:
        """Store the new signature counter unless another login moved it meanwhile."""
        wc = at.webauthn_credentials
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    sa.update(wc)
                    .where(wc.c.id == credential_id, wc.c.sign_count == old_count)
                    .values(sign_count=new_count, last_used_at=now)
                ).rowcount
            )

    def delete_passkey(self, user_id: str, credential_id: str) -> bool:
        wc = at.webauthn_credentials
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    sa.delete(wc).where(wc.c.user_id == user_id, wc.c.id == credential_id)
                ).rowcount
            )

    def delete_passkeys(self, user_id: str) -> None:
        wc = at.webauthn_credentials
        with self.engine.begin() as conn:
            conn.execute(sa.delete(wc).where(wc.c.user_id == user_id))

    # -- WebAuthn challenges -------------------------------------------------------------
    def put_challenge(
        self, ident: str, purpose: str, user_id: str | None, challenge: str, expires_at: datetime
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(at.webauthn_challenges).values(
                    id=ident,
                    purpose=purpose,
                    user_id=user_id,
                    challenge=challenge,
                    expires_at=expires_at,
                )
            )

    def take_challenge(
        self, ident: str, purpose: str, now: datetime
    ) -> tuple[str | None, str] | None:
        """Consume a challenge: (user id, challenge) for exactly one caller, if still valid."""
        wc = at.webauthn_challenges
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(wc.c.user_id, wc.c.challenge, wc.c.expires_at).where(
                    wc.c.id == ident, wc.c.purpose == purpose
                )
            ).first()
            if row is None:
                return None
            won = conn.execute(sa.delete(wc).where(wc.c.id == ident)).rowcount
        if not won or utc(row.expires_at) <= now:
            return None
        return row.user_id, row.challenge

    # -- reset and invitation links ------------------------------------------------------
    def put_link(
        self, digest: str, kind: str, user_id: str, now: datetime, expires_at: datetime
    ) -> None:
        al = at.account_links
        with self.engine.begin() as conn:
            # One live link of a kind per user: a new mail makes the older link useless.
            conn.execute(sa.delete(al).where(al.c.user_id == user_id, al.c.kind == kind))
            conn.execute(
                sa.insert(al).values(
                    digest=digest, kind=kind, user_id=user_id, created_at=now, expires_at=expires_at
                )
            )

    def link_user(self, digest: str, kind: str, now: datetime) -> str | None:
        al = at.account_links
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(al.c.user_id, al.c.expires_at).where(
                    al.c.digest == digest, al.c.kind == kind, al.c.used_at.is_(None)
                )
            ).first()
        if row is None or utc(row.expires_at) <= now:
            return None
        return str(row.user_id)

    def use_link(self, digest: str, kind: str, now: datetime) -> bool:
        al = at.account_links
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    sa.update(al)
                    .where(
                        al.c.digest == digest,
                        al.c.kind == kind,
                        al.c.used_at.is_(None),
                        al.c.expires_at > now,
                    )
                    .values(used_at=now)
                ).rowcount
            )

    # -- avatars -------------------------------------------------------------------------
    def put_avatar(self, user_id: str, content_type: str, data: bytes, now: datetime) -> None:
        av = at.avatars
        with self.engine.begin() as conn:
            conn.execute(sa.delete(av).where(av.c.user_id == user_id))
            conn.execute(
                sa.insert(av).values(
                    user_id=user_id, content_type=content_type, data=data, updated_at=now
                )
            )

    def avatar(self, user_id: str) -> tuple[str, bytes] | None:
        av = at.avatars
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(av.c.content_type, av.c.data).where(av.c.user_id == user_id)
            ).first()
        return None if row is None else (str(row[0]), bytes(row[1]))

    def delete_avatar(self, user_id: str) -> bool:
        av = at.avatars
        with self.engine.begin() as conn:
            return bool(conn.execute(sa.delete(av).where(av.c.user_id == user_id)).rowcount)

    # -- login throttling ----------------------------------------------------------------
    def failures(self, keys: Iterable[str]) -> dict[str, tuple[int, datetime]]:
        lt = at.login_throttle
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(lt.c.key, lt.c.failures, lt.c.last_failure_at).where(
                    lt.c.key.in_(list(keys))
                )
            )
            return {r.key: (int(r.failures), utc(r.last_failure_at)) for r in rows}

    def record_failure(self, key: str, now: datetime, forget_before: datetime) -> int:
        """Count one more failure for `key` (starting over if the last one is old); return it."""
        lt = at.login_throttle
        with self.engine.begin() as conn:
            updated = conn.execute(
                sa.update(lt)
                .where(lt.c.key == key, lt.c.last_failure_at >= forget_before)
                .values(failures=lt.c.failures + 1, last_failure_at=now)
            ).rowcount
            if not updated:
                conn.execute(sa.delete(lt).where(lt.c.key == key))
                conn.execute(sa.insert(lt).values(key=key, failures=1, last_failure_at=now))
            return int(conn.execute(sa.select(lt.c.failures).where(lt.c.key == key)).scalar_one())

    def clear_failures(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(at.login_throttle).where(at.login_throttle.c.key == key))

    def remember_browser(self, user_id: str, browser_hash: str, now: datetime) -> None:
        kb = at.known_browsers
        with self.engine.begin() as conn:
            seen = conn.execute(
                sa.update(kb)
                .where(kb.c.user_id == user_id, kb.c.browser_hash == browser_hash)
                .values(last_seen_at=now)
            ).rowcount
            if not seen:
                conn.execute(
                    sa.insert(kb).values(
                        user_id=user_id, browser_hash=browser_hash, last_seen_at=now
                    )
                )

    def knows_browser(self, user_id: str, browser_hash: str) -> bool:
        kb = at.known_browsers
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    sa.select(kb.c.user_id).where(
                        kb.c.user_id == user_id, kb.c.browser_hash == browser_hash
                    )
                ).first()
                is not None
            )

    # -- second factors across tables ----------------------------------------------------
    def has_second_factor(self, user_id: str) -> bool:
        totp, wc = ct.totp_secrets, at.webauthn_credentials
        with self.engine.connect() as conn:
            confirmed = conn.execute(
                sa.select(totp.c.user_id).where(
                    totp.c.user_id == user_id, totp.c.confirmed.is_(True)
                )
            ).first()
            if confirmed is not None:
                return True
            key = conn.execute(sa.select(wc.c.id).where(wc.c.user_id == user_id).limit(1))
            return key.first() is not None

    def signed_in_users_without_second_factor(self) -> list[str]:
        """Users holding a session or a live token but neither a confirmed TOTP nor a passkey."""
        holders = sa.union(
            sa.select(ot.oidc_sessions.c.user_id.label("u")),
            sa.select(ot.oidc_tokens.c.user_id.label("u")).where(
                ot.oidc_tokens.c.revoked.is_(False)
            ),
        ).subquery()
        enrolled = _with_factor().subquery()
        query = sa.select(holders.c.u).where(holders.c.u.not_in(sa.select(enrolled.c.u)))
        with self.engine.connect() as conn:
            return sorted({str(u) for u in conn.execute(query).scalars()})

    # -- sessions ------------------------------------------------------------------------
    def sessions_of(self, user_id: str, now: datetime) -> list[SessionInfo]:
        s, sc, c = ot.oidc_sessions, ot.oidc_session_clients, ot.oidc_clients
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(s.c.sid, s.c.auth_time, s.c.amr, s.c.expires_at)
                .where(s.c.user_id == user_id, s.c.expires_at > now)
                .order_by(s.c.auth_time.desc())
            ).all()
            apps: dict[str, list[str]] = {}
            if rows:
                for sid, name in conn.execute(
                    sa.select(sc.c.sid, c.c.name)
                    .join(c, c.c.id == sc.c.client_id)
                    .where(sc.c.sid.in_([r.sid for r in rows]))
                    .order_by(c.c.name)
                ):
                    apps.setdefault(sid, []).append(name)
        return [
            SessionInfo(
                r.sid, utc(r.auth_time), list(r.amr), utc(r.expires_at), apps.get(r.sid, [])
            )
            for r in rows
        ]


def _with_factor() -> sa.CompoundSelect[tuple[str]]:
    return sa.union(
        sa.select(ct.totp_secrets.c.user_id.label("u")).where(
            ct.totp_secrets.c.confirmed.is_(True)
        ),
        sa.select(at.webauthn_credentials.c.user_id.label("u")),
    )
