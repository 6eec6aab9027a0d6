"""SQL for the OpenID Connect provider: the storage hooks behind clients, keys, flows and tokens.

Every method is one short transaction, so any node sharing the database can take over any step.
Single-use rules are enforced by statements whose row count says who won, which holds on SQLite
and PostgreSQL alike: a redeemed code's digest is inserted unless already there, a rotated
refresh token is marked by a conditional UPDATE.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from keyhall.oidc.clients import Client, ClientSettings
from keyhall.storage import oidc_tables as t
from keyhall.storage.oidc_sql import Prepared, Step
from keyhall.storage.store import Store, utc


@dataclass(frozen=True, slots=True)
class KeyRow:
    kid: str
    alg: str
    state: str
    public_jwk: dict[str, Any]
    private_enc: bytes
    created_at: datetime
    retire_at: datetime | None


@dataclass(frozen=True, slots=True)
class FlowRow:
    id: str
    browser_hash: str
    step: str
    request: dict[str, Any]
    user_id: str | None
    session_sid: str | None
    amr: list[str]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SessionRow:
    sid: str
    user_id: str
    auth_time: datetime
    amr: list[str]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CodeRow:
    """The grant an authorization code carries, sealed in it (`keyhall.oidc.codes`)."""

    grant_id: str
    client_id: str
    user_id: str
    sid: str
    redirect_uri: str
    scope: str
    details: dict[str, Any]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TokenRow:
    token_hash: str
    kind: str
    grant_id: str
    client_id: str
    user_id: str
    sid: str
    scope: str
    details: dict[str, Any]
    issued_at: datetime
    expires_at: datetime
    revoked: bool
    rotated: bool


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    client_id: str
    uri: str
    logout_token: str
    attempts: int


_client_writes = itertools.count()
_last_client_write = 0


def client_writes() -> int:
    """How many client registrations this process changed: with the directory version (which
    such changes bump, for other processes), the key of the clients cached in memory."""
    return _last_client_write


def _client_written() -> None:
    global _last_client_write
    _last_client_write = next(_client_writes) + 1


def _insert(dialect: str, table: sa.Table) -> Any:
    """The INSERT of SQLite or PostgreSQL, which both take ON CONFLICT clauses."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _insert_ignore(conn: sa.Connection, table: sa.Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING, in the dialect at hand."""
    return _insert(conn.dialect.name, table).on_conflict_do_nothing()


def _upsert_revocation(dialect: str) -> Any:
    """INSERT a revocation, or move an existing one's time to this one's."""
    stmt = _insert(dialect, t.oidc_revocations)
    return stmt.on_conflict_do_update(
        index_elements=[t.oidc_revocations.c.key], set_={"revoked_at": stmt.excluded.revoked_at}
    )


_REVOCATION_KEYS = ("k0", "k1", "k2", "k3")


def _client(row: Any) -> Client:
    return Client(
        id=row.id,
        name=row.name,
        secret_hash=row.secret_hash,
        redirect_uris=tuple(row.redirect_uris),
        post_logout_redirect_uris=tuple(row.post_logout_redirect_uris),
        backchannel_logout_uri=row.backchannel_logout_uri,
        settings=ClientSettings.from_json(row.settings),
        created_at=utc(row.created_at),
    )


def _token(row: Sequence[Any]) -> TokenRow:
    """A token from its columns, in table order (TokenRow's fields follow it)."""
    h, kind, grant_id, client_id, user_id, sid, scope, details, issued, expires, rev, rot = row
    return TokenRow(
        h,
        kind,
        grant_id,
        client_id,
        user_id,
        sid,
        scope,
        details,
        utc(issued),
        utc(expires),
        bool(rev),
        bool(rot),
    )


_TOKEN_COLUMNS = [c.name for c in t.oidc_tokens.columns]
_CODE_COLUMNS = [c.name for c in t.oidc_codes.columns]
_FLOW_COLUMNS = [c.name for c in t.login_flows.columns]


class _Hot:
    """The statements of every code exchange, refresh, userinfo call and authorization
    request, prepared once (`keyhall.storage.oidc_sql`)."""

    def __init__(self, store: Store) -> None:
        engine = store.engine
        codes, tokens, sessions = t.oidc_codes, t.oidc_tokens, t.oidc_sessions
        dialect = engine.dialect.name
        self.driver = store.driver
        self.token = Prepared(
            engine, sa.select(tokens).where(tokens.c.token_hash == sa.bindparam("token_hash"))
        )
        self.insert_tokens = Prepared(engine, sa.insert(tokens), _TOKEN_COLUMNS)
        # A code's digest, stored when it is redeemed: the insert that finds it is a replay.
        self.redeem = Prepared(
            engine, _insert(dialect, codes).on_conflict_do_nothing(), _CODE_COLUMNS
        )
        self.insert_flow = Prepared(engine, sa.insert(t.login_flows), _FLOW_COLUMNS)
        self.session_client = Prepared(
            engine,
            _insert(dialect, t.oidc_session_clients).on_conflict_do_nothing(),
            ["sid", "client_id"],
        )
        self.rotate = Prepared(
            engine,
            sa.update(tokens)
            .where(tokens.c.token_hash == sa.bindparam("rotating"), tokens.c.rotated.is_(False))
            .values(rotated=sa.true()),
        )
        self.revoke_grant = Prepared(
            engine,
            sa.update(tokens)
            .where(
                tokens.c.user_id == sa.bindparam("user_id"),
                tokens.c.sid == sa.bindparam("sid"),
                tokens.c.grant_id == sa.bindparam("grant_id"),
            )
            .values(revoked=sa.true()),
        )
        self.revoke_token = Prepared(
            engine,
            sa.update(tokens)
            .where(tokens.c.token_hash == sa.bindparam("token_hash"))
            .values(revoked=sa.true()),
        )
        rv = t.oidc_revocations
        self.revocations = Prepared(
            engine,
            sa.select(rv.c.key, rv.c.revoked_at).where(
                rv.c.key.in_([sa.bindparam(k) for k in _REVOCATION_KEYS])
            ),
        )
        self.revoke_entry = Prepared(engine, _upsert_revocation(dialect), ["key", "revoked_at"])
        self.session_by_cookie = Prepared(
            engine,
            sa.select(sessions).where(sessions.c.cookie_hash == sa.bindparam("cookie_hash")),
        )
        self.session_by_sid = Prepared(
            engine, sa.select(sessions).where(sessions.c.sid == sa.bindparam("sid"))
        )
        self.session_columns = [c.name for c in sessions.columns]


class OidcStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine
        self._hot = _Hot(store)
        self.embedded = store.embedded
        self.driver = store.driver

    # -- clients -------------------------------------------------------------------------
    def client(self, client_id: str) -> Client | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.oidc_clients).where(t.oidc_clients.c.id == client_id))
            found = row.first()
        return None if found is None else _client(found)

    def clients(self) -> list[Client]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.oidc_clients).order_by(t.oidc_clients.c.name))
            return [_client(r) for r in rows]

    def put_client(self, client: Client, now: datetime, *, create: bool) -> bool:
        done = self._put_client(client, now, create=create)
        _client_written()
        return done

    def delete_client(self, client_id: str) -> bool:
        done = self._delete_client(client_id)
        _client_written()
        return done

    def _put_client(self, client: Client, now: datetime, *, create: bool) -> bool:
        values = {
            "name": client.name,
            "secret_hash": client.secret_hash,
            "redirect_uris": list(client.redirect_uris),
            "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
            "backchannel_logout_uri": client.backchannel_logout_uri,
            "settings": client.settings.as_json(),
            "updated_at": now,
        }
        # Through `Store.write`: bumping the directory version tells every node to drop its
        # cached clients (`Provider.client`) within one view refresh.
        with self.store.write() as writer:
            conn = writer.conn
            exists = conn.execute(
                sa.select(t.oidc_clients.c.id).where(t.oidc_clients.c.id == client.id)
            ).first()
            if create:
                if exists is not None:
                    return False
                conn.execute(
                    sa.insert(t.oidc_clients).values(id=client.id, created_at=now, **values)
                )
                return True
            conn.execute(
                sa.update(t.oidc_clients).where(t.oidc_clients.c.id == client.id).values(**values)
            )
            return exists is not None

    def _delete_client(self, client_id: str) -> bool:
        with self.store.write() as writer:
            conn = writer.conn
            for table in (t.oidc_tokens, t.oidc_session_clients, t.oidc_consents):
                conn.execute(sa.delete(table).where(table.c.client_id == client_id))
            return bool(
                conn.execute(
                    sa.delete(t.oidc_clients).where(t.oidc_clients.c.id == client_id)
                ).rowcount
            )

    # -- keys ----------------------------------------------------------------------------
    def key_rows(self) -> list[KeyRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.oidc_keys).order_by(t.oidc_keys.c.created_at))
            return [
                KeyRow(
                    r.kid,
                    r.alg,
                    r.state,
                    r.public_jwk,
                    bytes(r.private_enc),
                    utc(r.created_at),
                    None if r.retire_at is None else utc(r.retire_at),
                )
                for r in rows
            ]

    def replace_keys(
        self,
        *,
        new: Sequence[KeyRow],
        states: dict[str, tuple[str, datetime | None]],
        expected_kids: set[str],
    ) -> bool:
        """Apply a rotation unless another process changed the key set meanwhile."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7202)")
            current = set(conn.execute(sa.select(t.oidc_keys.c.kid)).scalars())
            if current != expected_kids:
                return False
            for kid, (state, retire_at) in states.items():
                if state == "gone":
                    conn.execute(sa.delete(t.oidc_keys).where(t.oidc_keys.c.kid == kid))
                else:
                    conn.execute(
                        sa.update(t.oidc_keys)
                        .where(t.oidc_keys.c.kid == kid)
                        .values(state=state, retire_at=retire_at)
                    )
            for key in new:
                conn.execute(
                    sa.insert(t.oidc_keys).values(
                        kid=key.kid,
                        alg=key.alg,
                        state=key.state,
                        public_jwk=key.public_jwk,
                        private_enc=key.private_enc,
                        created_at=key.created_at,
                        retire_at=key.retire_at,
                    )
                )
            return True

    # -- login flows ---------------------------------------------------------------------
    def insert_flow(self, flow: FlowRow, now: datetime) -> None:
        # Prepared: every sign-in an app starts writes one, from the authorization endpoint.
        hot = self._hot
        values = {
            "id": flow.id,
            "browser_hash": flow.browser_hash,
            "step": flow.step,
            "request": flow.request,
            "user_id": flow.user_id,
            "session_sid": flow.session_sid,
            "amr": flow.amr,
            "created_at": now,
            "expires_at": flow.expires_at,
        }
        hot.driver.write(hot.insert_flow, values)

    def flow(self, flow_id: str) -> FlowRow | None:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(t.login_flows).where(t.login_flows.c.id == flow_id)).first()
        if r is None:
            return None
        return FlowRow(
            r.id,
            r.browser_hash,
            r.step,
            r.request,
            r.user_id,
            r.session_sid,
            list(r.amr),
            utc(r.expires_at),
        )

    def advance_flow(self, flow_id: str, from_step: str, **values: Any) -> bool:
        """Move a flow on from `from_step`; False if it was not there (a replay or a race)."""
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    sa.update(t.login_flows)
                    .where(t.login_flows.c.id == flow_id, t.login_flows.c.step == from_step)
                    .values(**values)
                ).rowcount
            )

    def delete_flow(self, flow_id: str) -> bool:
        with self.engine.begin() as conn:
            return bool(
                conn.execute(sa.delete(t.login_flows).where(t.login_flows.c.id == flow_id)).rowcount
            )

    # -- SSO sessions --------------------------------------------------------------------
    def insert_session(self, sid: str, cookie_hash: str, row: SessionRow, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(t.oidc_sessions).values(
                    sid=sid,
                    cookie_hash=cookie_hash,
                    user_id=row.user_id,
                    auth_time=row.auth_time,
                    amr=row.amr,
                    created_at=now,
                    expires_at=row.expires_at,
                )
            )

    def session(
        self, *, sid: str | None = None, cookie_hash: str | None = None
    ) -> SessionRow | None:
        hot = self._hot
        if cookie_hash is not None:
            found = hot.driver.first(hot.session_by_cookie, {"cookie_hash": cookie_hash})
        elif sid is not None:
            found = hot.driver.first(hot.session_by_sid, {"sid": sid})
        else:
            return None
        if found is None:
            return None
        r = dict(zip(hot.session_columns, found, strict=True))
        if sid is not None and r["sid"] != sid:
            return None
        return SessionRow(
            r["sid"], r["user_id"], utc(r["auth_time"]), list(r["amr"]), utc(r["expires_at"])
        )

    def session_sids_of_user(self, user_id: str) -> list[str]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(t.oidc_sessions.c.sid).where(t.oidc_sessions.c.user_id == user_id)
                ).scalars()
            )

    def absorb_session(self, old_sid: str, new_sid: str) -> bool:
        """Give session `old_sid` the cookie, auth_time, amr and expiry of `new_sid`, which goes.

        A re-authentication of the same user keeps its sid (the one relying parties hold)."""
        s = t.oidc_sessions
        with self.engine.begin() as conn:
            new = conn.execute(sa.select(s).where(s.c.sid == new_sid)).first()
            old = conn.execute(sa.select(s.c.sid).where(s.c.sid == old_sid)).first()
            if new is None or old is None:
                return False
            conn.execute(sa.delete(s).where(s.c.sid == new_sid))
            conn.execute(
                sa.update(s)
                .where(s.c.sid == old_sid)
                .values(
                    cookie_hash=new.cookie_hash,
                    auth_time=new.auth_time,
                    amr=new.amr,
                    expires_at=new.expires_at,
                )
            )
            sc = t.oidc_session_clients
            for client_id in conn.execute(sa.select(sc.c.client_id).where(sc.c.sid == new_sid)):
                conn.execute(_insert_ignore(conn, sc).values(sid=old_sid, client_id=client_id[0]))
            conn.execute(sa.delete(sc).where(sc.c.sid == new_sid))
            return True

    def token_holders(self, user_id: str, now: datetime) -> list[tuple[str, str]]:
        """(client id, sid) of every live token of a user, offline ones included."""
        tk = t.oidc_tokens
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(tk.c.client_id, tk.c.sid)
                .where(tk.c.user_id == user_id, tk.c.revoked.is_(False), tk.c.expires_at > now)
                .distinct()
            )
            return [(r.client_id, r.sid) for r in rows]

    def end_session(self, sid: str, now: datetime) -> tuple[SessionRow | None, list[str]]:
        """Delete a session and the tokens bound to it except offline ones; return its clients."""
        found = self.session(sid=sid)
        bound = t.oidc_tokens.c.sid == sid
        if found is not None:  # the index on tokens leads with their user
            bound = sa.and_(t.oidc_tokens.c.user_id == found.user_id, bound)
        with self.engine.begin() as conn:
            clients = list(
                conn.execute(
                    sa.select(t.oidc_session_clients.c.client_id).where(
                        t.oidc_session_clients.c.sid == sid
                    )
                ).scalars()
            )
            conn.execute(
                sa.delete(t.oidc_session_clients).where(t.oidc_session_clients.c.sid == sid)
            )
            deleted = conn.execute(sa.delete(t.oidc_sessions).where(t.oidc_sessions.c.sid == sid))
            conn.execute(
                sa.update(t.oidc_tokens)
                .where(bound, sa.not_(t.oidc_tokens.c.scope.contains("offline_access")))
                .values(revoked=True)
            )
            conn.execute(
                _upsert_revocation(conn.dialect.name).values(key=f"session:{sid}", revoked_at=now)
            )
        return (found if deleted.rowcount else None), clients

    # -- consents ------------------------------------------------------------------------
    def consented_scope(self, user_id: str, client_id: str) -> set[str]:
        with self.engine.connect() as conn:
            scope = conn.execute(
                sa.select(t.oidc_consents.c.scope).where(
                    t.oidc_consents.c.user_id == user_id, t.oidc_consents.c.client_id == client_id
                )
            ).scalar()
        return set((scope or "").split())

    def put_consent(self, user_id: str, client_id: str, scope: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(t.oidc_consents).where(
                    t.oidc_consents.c.user_id == user_id, t.oidc_consents.c.client_id == client_id
                )
            )
            conn.execute(
                sa.insert(t.oidc_consents).values(
                    user_id=user_id, client_id=client_id, scope=scope, granted_at=now
                )
            )

    # -- codes and tokens ----------------------------------------------------------------
    def insert_tokens(
        self,
        rows: Iterable[TokenRow],
        *,
        redeeming: tuple[str, CodeRow] | None = None,
        rotating: str | None = None,
    ) -> bool:
        """Store issued tokens. With `redeeming` (a code's digest and grant) or `rotating` (a
        refresh token's digest), only if this transaction is the one that stores that code as
        used (and its client as one of its session's) or marks that refresh token rotated:
        False, and nothing stored, if another got there first (a replay, or a concurrent use).
        One commit per token response."""
        values = [
            {
                "token_hash": r.token_hash,
                "kind": r.kind,
                "grant_id": r.grant_id,
                "client_id": r.client_id,
                "user_id": r.user_id,
                "sid": r.sid,
                "scope": r.scope,
                "details": r.details,
                "issued_at": r.issued_at,
                "expires_at": r.expires_at,
                "revoked": False,
                "rotated": False,
            }
            for r in rows
        ]
        hot = self._hot
        steps: list[Step] = []
        if redeeming is not None:
            code_hash, code = redeeming
            used = {"code_hash": code_hash, "expires_at": code.expires_at}
            steps.append((hot.redeem, [used], True))
            # The session's clients get back-channel logout when it ends (once each).
            member = {"sid": code.sid, "client_id": code.client_id}
            steps.append((hot.session_client, [member], False))
        if rotating is not None:
            steps.append((hot.rotate, [{"rotating": rotating}], True))
        if values:
            steps.append((hot.insert_tokens, values, False))
        return hot.driver.transaction(steps)

    def token(self, token_hash: str) -> TokenRow | None:
        found = self._hot.driver.first(self._hot.token, {"token_hash": token_hash})
        return None if found is None else _token(found)

    def revoke_tokens(
        self, now: datetime, *, token_hash: str | None = None, user_id: str | None = None
    ) -> None:
        """Revoke one access token (by digest) or every token of a user, stored or sealed."""
        if token_hash is not None:
            hot = self._hot
            hot.driver.transaction(
                [
                    (hot.revoke_token, [{"token_hash": token_hash}], False),
                    (hot.revoke_entry, [{"key": f"token:{token_hash}", "revoked_at": now}], False),
                ]
            )
            return
        assert user_id is not None
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(t.oidc_tokens)
                .where(t.oidc_tokens.c.user_id == user_id)
                .values(revoked=True)
            )
            conn.execute(
                _upsert_revocation(conn.dialect.name).values(key=f"user:{user_id}", revoked_at=now)
            )

    def revoke_grant(self, user_id: str, sid: str, grant_id: str, now: datetime) -> None:
        """Revoke every token issued from one grant, stored or sealed: a replayed code or refresh
        token, or a revocation request (RFC 7009 §2.1). Prepared: the first two are on hot
        paths."""
        hot = self._hot
        values = {"user_id": user_id, "sid": sid, "grant_id": grant_id}
        hot.driver.transaction(
            [
                (hot.revoke_grant, [values], False),
                (hot.revoke_entry, [{"key": f"grant:{grant_id}", "revoked_at": now}], False),
            ]
        )

    def revocations(
        self, token_hash: str, grant_id: str, sid: str, user_id: str
    ) -> dict[str, datetime]:
        """When each revocation that may apply to a sealed access token was made, by key."""
        keys = (f"token:{token_hash}", f"grant:{grant_id}", f"session:{sid}", f"user:{user_id}")
        found = self._hot.driver.all(
            self._hot.revocations, dict(zip(_REVOCATION_KEYS, keys, strict=True))
        )
        return {key: utc(at) for key, at in found}

    def prune_revocations(self, before: datetime) -> None:
        """Forget revocations older than any token they could apply to."""
        rv = t.oidc_revocations
        with self.engine.begin() as conn:
            conn.execute(sa.delete(rv).where(rv.c.revoked_at < before))

    # -- back-channel logout outbox ------------------------------------------------------
    def enqueue_logouts(self, items: Iterable[tuple[str, str, str]], now: datetime) -> None:
        values = [
            {
                "client_id": client_id,
                "uri": uri,
                "logout_token": token,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for client_id, uri, token in items
        ]
        if values:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(t.oidc_logout_outbox), values)

    def claim_logouts(self, now: datetime, lease_until: datetime, limit: int) -> list[OutboxRow]:
        """Take due deliveries, leasing each so another node doesn't send it at the same time."""
        box = t.oidc_logout_outbox
        claimed: list[OutboxRow] = []
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.select(box).where(box.c.next_attempt_at <= now).order_by(box.c.id).limit(limit)
            ).all()
            for r in rows:
                won = conn.execute(
                    sa.update(box)
                    .where(box.c.id == r.id, box.c.next_attempt_at == r.next_attempt_at)
                    .values(next_attempt_at=lease_until)
                ).rowcount
                if won:
                    claimed.append(OutboxRow(r.id, r.client_id, r.uri, r.logout_token, r.attempts))
        return claimed

    def finish_logout(self, item_id: int, *, retry_at: datetime | None, attempts: int) -> None:
        box = t.oidc_logout_outbox
        with self.engine.begin() as conn:
            if retry_at is None:
                conn.execute(sa.delete(box).where(box.c.id == item_id))
            else:
                conn.execute(
                    sa.update(box)
                    .where(box.c.id == item_id)
                    .values(next_attempt_at=retry_at, attempts=attempts)
                )

    # -- housekeeping --------------------------------------------------------------------
    def delete_expired(self, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(t.oidc_codes).where(t.oidc_codes.c.expires_at < now))
            conn.execute(sa.delete(t.oidc_tokens).where(t.oidc_tokens.c.expires_at < now))
            conn.execute(sa.delete(t.login_flows).where(t.login_flows.c.expires_at < now))
            gone = sa.select(t.oidc_sessions.c.sid).where(t.oidc_sessions.c.expires_at < now)
            conn.execute(
                sa.delete(t.oidc_session_clients).where(t.oidc_session_clients.c.sid.in_(gone))
            )
            conn.execute(sa.delete(t.oidc_sessions).where(t.oidc_sessions.c.expires_at < now))
