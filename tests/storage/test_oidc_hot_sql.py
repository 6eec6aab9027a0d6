"""The OIDC store's prepared statements (keyhall.storage.oidc_sql) write and read the same
values as SQLAlchemy Core does, on SQLite and PostgreSQL: redeemed codes, tokens, sessions, login
flows; and on SQLite, a write told not to wait says so instead of waiting out the busy timeout."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from keyhall.storage import migrate
from keyhall.storage import oidc_tables as t
from keyhall.storage.oidc_sql import Busy
from keyhall.storage.oidc_store import CodeRow, FlowRow, OidcStore, SessionRow, TokenRow
from keyhall.storage.store import Store, utc

NOW = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def _token(token_hash: str) -> TokenRow:
    return TokenRow(
        token_hash, "access", "grant-1", "client-1", "user-1", "sid-1", "openid email",
        {"amr": ["pwd", "otp"], "nonce": "n-é", "claims": None}, NOW,
        NOW + timedelta(hours=1), revoked=False, rotated=False,
    )  # fmt: skip


def test_tokens_round_trip_and_match_core(store: Store) -> None:
    oidc = OidcStore(store)
    first, second = _token("a" * 64), _token("b" * 64)
    assert oidc.insert_tokens([first, replace(second, kind="refresh")])
    assert oidc.token("a" * 64) == first
    assert oidc.token("b" * 64) == replace(second, kind="refresh")
    assert oidc.token("c" * 64) is None

    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(t.oidc_tokens).order_by(t.oidc_tokens.c.token_hash)).all()
        later = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.oidc_tokens)
            .where(t.oidc_tokens.c.expires_at > NOW + timedelta(minutes=59))
        ).scalar()
    assert [r.token_hash for r in rows] == ["a" * 64, "b" * 64]
    assert utc(rows[0].expires_at) == first.expires_at and rows[0].details == first.details
    assert not rows[0].revoked and not rows[0].rotated
    assert later == 2  # timestamps compare in SQL as Core-written ones do

    # Prepared, by token: only that token; by grant: the whole family.
    oidc.revoke_tokens(NOW, token_hash="a" * 64)
    revoked, kept = oidc.token("a" * 64), oidc.token("b" * 64)
    assert revoked is not None and revoked.revoked and kept is not None and not kept.revoked
    oidc.revoke_grant("user-1", "sid-1", "grant-2", NOW)
    assert (kept := oidc.token("b" * 64)) is not None and not kept.revoked
    oidc.revoke_grant("user-1", "sid-1", "grant-1", NOW)
    with store.engine.connect() as conn:
        flags = conn.execute(sa.select(t.oidc_tokens.c.revoked)).scalars().all()
    assert flags == [True, True]  # as Core reads what the prepared update wrote


def test_revocations_recorded_for_sealed_tokens_and_read_back(store: Store) -> None:
    oidc = OidcStore(store)
    assert oidc.revocations("h", "g", "s", "u") == {}
    oidc.revoke_tokens(NOW, token_hash="h")
    oidc.revoke_grant("u", "s", "g", NOW + timedelta(seconds=1))
    later = NOW + timedelta(seconds=2)
    oidc.end_session("s", later)  # no such session: its tokens are revoked all the same
    oidc.revoke_tokens(NOW, user_id="u")
    oidc.revoke_tokens(later, user_id="u")  # a second revocation moves the time on
    assert oidc.revocations("h", "g", "s", "u") == {
        "token:h": NOW,
        "grant:g": NOW + timedelta(seconds=1),
        "session:s": later,
        "user:u": later,
    }
    assert oidc.revocations("h2", "g2", "s2", "u2") == {}
    oidc.prune_revocations(NOW + timedelta(seconds=1))
    assert set(oidc.revocations("h", "g", "s", "u")) == {"grant:g", "session:s", "user:u"}


def test_refresh_token_rotated_once_with_its_successor(store: Store) -> None:
    oidc = OidcStore(store)
    assert oidc.insert_tokens([replace(_token("a" * 64), kind="refresh")])
    assert oidc.insert_tokens([_token("b" * 64)], rotating="a" * 64)
    # A second use of the same refresh token loses, and stores nothing.
    assert not oidc.insert_tokens([_token("c" * 64)], rotating="a" * 64)
    assert oidc.token("c" * 64) is None
    rotated, successor = oidc.token("a" * 64), oidc.token("b" * 64)
    assert rotated is not None and rotated.rotated and not rotated.revoked
    assert successor is not None and not successor.rotated
    # A token that does not exist cannot be rotated either.
    assert not oidc.insert_tokens([_token("d" * 64)], rotating="e" * 64)
    assert oidc.token("d" * 64) is None
    with store.engine.connect() as conn:
        core = conn.execute(
            sa.select(t.oidc_tokens.c.rotated).where(t.oidc_tokens.c.token_hash == "a" * 64)
        ).scalar()
    assert core is True


def test_code_redeemed_once_with_its_tokens(store: Store) -> None:
    oidc = OidcStore(store)
    code = CodeRow(
        "grant-1", "client-1", "user-1", "sid-1", "https://rp.example/cb", "openid",
        {"code_challenge": "abc", "code_challenge_method": "S256"},
        expires_at=NOW + timedelta(seconds=60),
    )  # fmt: skip
    assert oidc.insert_tokens([_token("a" * 64)], redeeming=("c" * 64, code))
    # A second redemption loses, and stores nothing.
    assert not oidc.insert_tokens([_token("b" * 64)], redeeming=("c" * 64, code))
    assert oidc.token("b" * 64) is None
    # Another code of the same session and client: its membership row is kept once.
    assert oidc.insert_tokens([_token("d" * 64)], redeeming=("e" * 64, code))
    with store.engine.connect() as conn:
        used = conn.execute(sa.select(t.oidc_codes).order_by(t.oidc_codes.c.code_hash)).all()
        members = conn.execute(sa.select(t.oidc_session_clients)).all()
    assert [u.code_hash for u in used] == ["c" * 64, "e" * 64]
    assert utc(used[0].expires_at) == code.expires_at
    assert [(m.sid, m.client_id) for m in members] == [("sid-1", "client-1")]


def test_sessions_by_cookie_and_sid(store: Store) -> None:
    oidc = OidcStore(store)
    row = SessionRow("sid-1", "user-1", NOW, ["pwd"], NOW + timedelta(hours=8))
    oidc.insert_session("sid-1", "f" * 64, row, NOW)
    assert oidc.session(cookie_hash="f" * 64) == row
    assert oidc.session(sid="sid-1") == row
    assert oidc.session(sid="sid-2") is None
    assert oidc.session(cookie_hash="0" * 64) is None
    assert oidc.session(sid="sid-1", cookie_hash="0" * 64) is None
    assert oidc.session(sid="sid-2", cookie_hash="f" * 64) is None


def test_login_flow_written_prepared_reads_back_through_core(store: Store) -> None:
    oidc = OidcStore(store)
    flow = FlowRow(
        "flow-1", "b" * 64, "password", {"client_id": "c", "scope": "openid é"}, None, None,
        ["pwd"], NOW + timedelta(minutes=15),
    )  # fmt: skip
    oidc.insert_flow(flow, NOW)
    assert oidc.flow("flow-1") == flow
    assert oidc.flow("flow-2") is None


def test_a_write_told_not_to_wait_raises_busy_while_another_writer_holds_the_lock(
    tmp_path: Path,
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'k.db'}")
    migrate.upgrade(store.engine)
    oidc = OidcStore(store)
    other = sqlite3.connect(tmp_path / "k.db", isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process's write transaction, say
        with store.driver.not_waiting(), pytest.raises(Busy):
            oidc.insert_tokens([_token("a" * 64)])
        assert oidc.token("a" * 64) is None  # reads never wait in WAL mode

        # Outside the block the same thread's write waits for the lock, then succeeds.
        release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
        release.start()
        assert oidc.insert_tokens([_token("a" * 64)])
        release.join()
        assert oidc.token("a" * 64) == _token("a" * 64)
    finally:
        other.close()
        store.close()


def test_revocations_find_tokens_through_the_holder_index(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'k.db'}")
    migrate.upgrade(store.engine)
    try:
        oidc = OidcStore(store)
        with store.engine.connect() as conn:
            indexes = {
                r[0]: r[1]
                for r in conn.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                    "AND tbl_name = 'oidc_tokens' AND sql IS NOT NULL"
                )
            }
            plans = {
                name: " ".join(
                    str(r[-1])
                    for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", args).all()
                )
                for name, sql, args in [
                    ("grant", "UPDATE oidc_tokens SET revoked = 1 WHERE user_id = ? AND sid = ? "
                     "AND grant_id = ?", ("u", "s", "g")),
                    ("user", "UPDATE oidc_tokens SET revoked = 1 WHERE user_id = ?", ("u",)),
                    ("session", "UPDATE oidc_tokens SET revoked = 1 WHERE user_id = ? AND sid = ?",
                     ("u", "s")),
                ]
            }  # fmt: skip
        assert sorted(indexes) == ["ix_oidc_tokens_expires_at", "ix_oidc_tokens_holder"]
        assert all("ix_oidc_tokens_holder" in plan for plan in plans.values()), plans
        oidc.revoke_grant("u", "s", "g", NOW)
    finally:
        store.close()
