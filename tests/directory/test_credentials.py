"""TOTP second factors, app passwords and cached bind checks, against real databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from keyhall.directory import totp
from keyhall.directory.credentials import Credentials
from keyhall.directory.models import CLI_ACTOR, AuthFailure
from keyhall.directory.service import Directory
from keyhall.errors import Conflict, InvalidInput, NotFound
from keyhall.storage import credential_tables as ct
from keyhall.storage.store import Store

PW = "correct horse battery"
SECRET_KEY = bytes(range(32))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def node(store: Store, clock: Clock) -> Credentials:
    directory = Directory(store, clock=clock)
    # Cheap hashes: these tests are about the credential logic, not argon2's cost.
    directory.set_setting("argon2_memory_kib", "8", actor=CLI_ACTOR)
    directory.set_setting("argon2_time_cost", "1", actor=CLI_ACTOR)
    directory.create_user("owner", "owner@example.com", password=PW, actor=CLI_ACTOR)
    directory.create_user("alice", "alice@example.com", password=PW, actor=CLI_ACTOR)
    directory.refresh()
    return Credentials(directory, SECRET_KEY)


def secret_of(uri: str) -> str:
    return uri.split("secret=")[1].split("&")[0]


def test_password_alone_is_enough_without_totp(node: Credentials) -> None:
    assert node.authenticate("alice", PW).ok
    assert node.authenticate("alice@example.com", PW).ok
    assert node.authenticate("alice", PW + "x").failure is AuthFailure.BAD_PASSWORD
    assert node.authenticate("nobody", PW).failure is AuthFailure.UNKNOWN_USER


def test_totp_enrolment_counts_only_once_confirmed(node: Credentials, clock: Clock) -> None:
    uri = node.enroll_totp("alice", actor=CLI_ACTOR)
    assert uri.startswith("otpauth://totp/Keyhall:alice%40example.com?secret=")
    secret = secret_of(uri)
    assert node.authenticate("alice", PW).ok  # not confirmed yet
    with pytest.raises(InvalidInput):
        node.confirm_totp("alice", "abcdef", actor=CLI_ACTOR)
    node.confirm_totp("alice", totp.code_at(secret, clock.now), actor=CLI_ACTOR)
    assert node.authenticate("alice", PW).failure is AuthFailure.SECOND_FACTOR


def test_code_as_rdn_or_appended_and_never_twice(node: Credentials, clock: Clock) -> None:
    secret = secret_of(node.enroll_totp("alice", actor=CLI_ACTOR, confirmed=True))
    code = totp.code_at(secret, clock.now)
    assert node.authenticate("alice", PW, totp_code=code).ok
    # RFC 6238 §5.2: the same code (or an earlier step) is refused once used.
    assert node.authenticate("alice", PW + code).failure is AuthFailure.SECOND_FACTOR
    clock.now += timedelta(seconds=30)
    code = totp.code_at(secret, clock.now)
    assert node.authenticate("alice", PW + code).ok
    clock.now += timedelta(seconds=30)
    code = totp.code_at(secret, clock.now)
    assert node.authenticate("alice", "wrong" + code).failure is AuthFailure.BAD_PASSWORD
    assert node.authenticate("alice", PW, totp_code="12345").failure is AuthFailure.SECOND_FACTOR
    events = node.directory.store.audit_events(action="auth.totp")
    assert [e.outcome for e in events] == ["second_factor", "second_factor"]


def test_totp_secret_is_sealed_at_rest(node: Credentials, store: Store) -> None:
    secret = secret_of(node.enroll_totp("alice", actor=CLI_ACTOR))
    with store.read() as conn:
        stored = conn.execute(sa.select(ct.totp_secrets.c.sealed_secret)).scalar_one()
    assert secret not in stored
    assert secret.encode() == node._sealer.open(stored)


def test_app_passwords_bind_without_totp_until_revoked(node: Credentials, clock: Clock) -> None:
    node.enroll_totp("alice", actor=CLI_ACTOR, confirmed=True)
    created, secret = node.add_app_password("alice", "Nextcloud", actor=CLI_ACTOR)
    assert created.name == "Nextcloud" and created.last_used_at is None
    assert node.authenticate("alice", secret).ok
    assert node.authenticate("owner", secret).failure is AuthFailure.BAD_PASSWORD
    [listed] = node.app_passwords("alice")
    assert listed.last_used_at == clock.now
    with pytest.raises(Conflict):
        node.add_app_password("alice", "Nextcloud", actor=CLI_ACTOR)
    node.revoke_app_password("alice", "Nextcloud", actor=CLI_ACTOR)
    assert not node.authenticate("alice", secret).ok
    with pytest.raises(NotFound):
        node.revoke_app_password("alice", "Nextcloud", actor=CLI_ACTOR)


def test_app_passwords_are_stored_as_keyed_digests(node: Credentials, store: Store) -> None:
    _, secret = node.add_app_password("alice", "Gitea", actor=CLI_ACTOR)
    with store.read() as conn:
        digest = conn.execute(sa.select(ct.app_passwords.c.digest)).scalar_one()
    assert secret not in digest and len(digest) == 64


def test_disabled_user_app_password_fails(node: Credentials) -> None:
    _, secret = node.add_app_password("alice", "Gitea", actor=CLI_ACTOR)
    assert node.authenticate("alice", secret).ok
    node.directory.set_active("alice", False, actor=CLI_ACTOR)
    assert node.authenticate("alice", secret).failure is AuthFailure.DISABLED
    assert node.authenticate("alice", PW).failure is AuthFailure.DISABLED


def test_cached_checks_die_with_any_change_on_any_node(node: Credentials, store: Store) -> None:
    other = Credentials(Directory(store), SECRET_KEY)
    other.directory.refresh()
    assert other.authenticate("alice", PW).ok
    assert len(other.cache) == 1
    assert other.authenticate("alice", PW).ok  # from the cache: no new audit event
    assert len(store.audit_events(action="auth.password", target="alice")) == 1
    node.directory.set_password("alice", "a brand new password", actor=CLI_ACTOR)
    other.directory.refresh()  # what the other node's refresh task does every 0.25 s
    assert other.authenticate("alice", PW).failure is AuthFailure.BAD_PASSWORD
    assert other.authenticate("alice", "a brand new password").ok
    node.directory.delete_user("alice", actor=CLI_ACTOR)
    other.directory.refresh()
    assert other.authenticate("alice", "a brand new password").failure is AuthFailure.UNKNOWN_USER


def test_enrolling_totp_drops_cached_password_checks(node: Credentials) -> None:
    assert node.authenticate("alice", PW).ok
    assert node.cache.get(node.directory.user("alice"), PW)
    node.enroll_totp("alice", actor=CLI_ACTOR, confirmed=True)
    assert node.authenticate("alice", PW).failure is AuthFailure.SECOND_FACTOR
