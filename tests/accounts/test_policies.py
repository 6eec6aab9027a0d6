"""The account rules without HTTP: throttling delays, recovery codes, pictures, passwords,
mandatory 2FA's sign-out, the login steps — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from keyhall.accounts import recovery_codes as rc
from keyhall.accounts.factors import Need, amr
from keyhall.accounts.profile import avatar_type
from keyhall.accounts.throttle import MAX_DELAY, delay_after
from keyhall.directory.models import CLI_ACTOR
from keyhall.directory.service import Directory
from keyhall.errors import InvalidInput
from keyhall.storage.account_store import AccountStore
from keyhall.web.login_flow import TRANSITIONS, Step, after_password


def test_delay_grows_then_stops_growing() -> None:
    delays = [delay_after(n) for n in range(12)]
    assert delays[:5] == [timedelta(0)] * 5
    assert delays[5] == timedelta(seconds=15) and delays[6] == timedelta(seconds=30)
    assert delay_after(1000) == MAX_DELAY  # capped: never a permanent lock
    assert delay_after(19, "ip") == timedelta(0)  # addresses get more free tries


def test_recovery_codes_are_distinct_and_forgiving_to_type() -> None:
    codes = rc.generate()
    assert len(set(codes)) == 10
    hasher = rc.RecoveryCodeHasher(b"k" * 32)
    code = codes[0]
    assert hasher.digest(code.upper().replace("-", " ")) == hasher.digest(code)
    assert rc.looks_like(code) and not rc.looks_like("123456")
    assert hasher.digest(code) != rc.RecoveryCodeHasher(b"j" * 32).digest(code)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0....", "image/jpeg"),
        (b"GIF89a....", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    ],
)
def test_pictures_are_known_by_their_bytes(data: bytes, kind: str) -> None:
    assert avatar_type(data) == kind


@pytest.mark.parametrize("data", [b"", b"<svg onload=alert(1)>", b"\x89PNG" + b"x" * 300_000])
def test_other_uploads_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput):
        avatar_type(data)


def test_common_passwords_are_refused(directory: Directory) -> None:
    with pytest.raises(InvalidInput, match="commonly used"):
        directory.check_password_policy("Password1")
    directory.check_password_policy("a rather long passphrase")


def test_amr_says_mfa_for_two_kinds() -> None:
    assert amr("pwd") == ["pwd"]
    assert amr("pwd", "otp") == ["pwd", "otp", "mfa"]
    assert amr("hwk", "hwk") == ["hwk"]


def test_login_steps_table() -> None:
    assert after_password_step(Need.NOTHING) is Step.DONE
    assert after_password_step(Need.SECOND_FACTOR) is Step.SECOND_FACTOR
    assert after_password_step(Need.ENROLMENT) is Step.ENROL_REQUIRED
    # No path from the password step to done skips a required factor's page once there.
    assert TRANSITIONS[Step.SECOND_FACTOR] == {Step.DONE}
    assert TRANSITIONS[Step.ENROL_REQUIRED] == {Step.DONE}


def after_password_step(need: Need) -> Step:
    return after_password(None, need)  # type: ignore[arg-type]


def test_mandatory_2fa_listener_hears_the_change(directory: Directory) -> None:
    heard: list[tuple[str, object, object]] = []
    directory.settings_listeners.append(lambda k, old, new: heard.append((k, old, new)))
    directory.set_setting("mandatory_2fa", "true", actor=CLI_ACTOR)
    directory.set_setting("mandatory_2fa", "true", actor=CLI_ACTOR)
    assert heard == [("mandatory_2fa", False, True), ("mandatory_2fa", True, True)]


def test_single_use_links_and_throttle_rows(directory: Directory) -> None:
    user = directory.create_user("alice", "alice@example.com", actor=CLI_ACTOR)
    store = AccountStore(directory.store)
    now = directory.clock()
    store.put_link("d1", "reset", user.id, now, now + timedelta(hours=1))
    assert store.link_user("d1", "reset", now) == user.id
    assert store.link_user("d1", "invite", now) is None
    assert store.use_link("d1", "reset", now) is True
    assert store.use_link("d1", "reset", now) is False
    store.put_link("d2", "reset", user.id, now, now + timedelta(hours=1))
    assert store.link_user("d2", "reset", now + timedelta(hours=2)) is None  # expired
    assert [store.record_failure("user:x", now, now - timedelta(hours=1)) for _ in range(3)] == [
        1,
        2,
        3,
    ]
    later = now + timedelta(hours=2)
    assert store.record_failure("user:x", later, later - timedelta(hours=1)) == 1  # forgotten


@pytest.mark.parametrize(("provider", "asked"), [("cloudron", False), ("generic", True)])
def test_directory_users_enrol_unless_their_provider_checks_2fa(
    directory: Directory, provider: str, asked: bool
) -> None:
    """Issue 8 / seed 000: the Cloudron provider passes 2FA through; others enrol locally."""
    from keyhall.accounts.factors import SecondFactors
    from keyhall.connectors.connector import ExternalDirectory
    from keyhall.connectors.plan import SOURCE
    from keyhall.directory.credentials import Credentials

    key = b"s" * 32
    external = ExternalDirectory(directory, key)
    external.attach()
    external.set(
        {
            "enabled": "true",
            "provider": provider,
            "url": "ldap://127.0.0.1:1",
            "users_base_dn": "ou=users,dc=example",
        },
        actor=CLI_ACTOR,
    )
    directory.set_setting("mandatory_2fa", "true", actor=CLI_ACTOR)
    local = directory.create_user("local", "local@example.com", actor=CLI_ACTOR)
    remote = directory.create_user(
        "remote", "remote@example.com", actor=CLI_ACTOR, source=SOURCE, external_id="r-1"
    )
    factors = SecondFactors(
        directory, Credentials(directory, key), AccountStore(directory.store), key, directory.clock
    )
    assert factors.need(local) is Need.ENROLMENT
    assert factors.need(remote) is (Need.ENROLMENT if asked else Need.NOTHING)
