"""The directory's use cases against real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from keyhall.directory.models import CLI_ACTOR, Actor, AuthFailure, Role
from keyhall.directory.service import Directory
from keyhall.errors import Conflict, Forbidden, InvalidInput, NotFound
from keyhall.storage.store import Store

PW = "correct horse battery"


def test_first_user_owns_the_instance(directory: Directory) -> None:
    owner = directory.create_user("alice", "alice@example.com", actor=CLI_ACTOR)
    admin = directory.create_user("bob", "bob@example.com", admin=True, actor=CLI_ACTOR)
    plain = directory.create_user("carol", "carol@example.com", actor=CLI_ACTOR)
    assert (owner.role, admin.role, plain.role) == (Role.OWNER, Role.ADMIN, Role.USER)
    assert owner.id != admin.id and len(owner.id) == 36
    assert owner.number < admin.number < plain.number


def test_names_are_derived_from_the_display_name(directory: Directory) -> None:
    user = directory.create_user(
        "Alice", "Alice@Example.com", display_name="Alice van Dijk", actor=CLI_ACTOR
    )
    assert (user.username, user.email) == ("alice", "Alice@Example.com")
    assert (user.given_name, user.family_name) == ("Alice", "van Dijk")
    bare = directory.create_user("bob", "bob@example.com", actor=CLI_ACTOR)
    assert bare.display_name == "bob"


@pytest.mark.parametrize(
    ("username", "email", "error"),
    [
        ("alice", "other@example.com", "a user named 'alice' already exists"),
        ("ALICE", "other@example.com", "a user named 'alice' already exists"),
        ("other", "ALICE@example.COM", "a user with email 'ALICE@example.COM' already exists"),
    ],
)
def test_duplicates_are_refused_and_nothing_is_written(
    directory: Directory, store: Store, username: str, email: str, error: str
) -> None:
    directory.create_user("alice", "alice@example.com", actor=CLI_ACTOR)
    version = store.version()
    with pytest.raises(Conflict) as err:
        directory.create_user(username, email, actor=CLI_ACTOR)
    assert err.value.message == error
    assert store.version() == version
    directory.refresh()
    assert [u.username for u in directory.view.all_users()] == ["alice"]


def test_unknown_group_leaves_no_user_behind(directory: Directory, store: Store) -> None:
    with pytest.raises(NotFound, match="no group named 'ghosts'"):
        directory.create_user("alice", "a@example.com", groups=["ghosts"], actor=CLI_ACTOR)
    directory.refresh()
    assert directory.view.user_by_username("alice") is None
    assert store.audit_events(action="user.create") == []


def test_authenticate_by_username_or_email(directory: Directory) -> None:
    directory.create_user("alice", "Alice@Example.com", password=PW, actor=CLI_ACTOR)
    for login in ("alice", "ALICE", "alice@example.com", " Alice@Example.com "):
        result = directory.authenticate(login, PW, ip="192.0.2.1")
        assert result.ok, login
        assert result.user is not None and result.user.username == "alice"


@pytest.mark.parametrize(
    ("login", "password", "failure"),
    [
        ("alice", "wrong password", AuthFailure.BAD_PASSWORD),
        ("alice", "", AuthFailure.NO_PASSWORD),
        ("nobody", PW, AuthFailure.UNKNOWN_USER),
        ("nobody@example.com", PW, AuthFailure.UNKNOWN_USER),
    ],
)
def test_authentication_failures_carry_their_reason(
    directory: Directory, login: str, password: str, failure: AuthFailure
) -> None:
    directory.create_user("alice", "alice@example.com", password=PW, actor=CLI_ACTOR)
    result = directory.authenticate(login, password)
    assert not result.ok
    assert result.failure is failure


def test_disabled_users_fail_only_after_the_right_password(directory: Directory) -> None:
    directory.create_user("owner", "o@example.com", actor=CLI_ACTOR)
    directory.create_user("bob", "bob@example.com", password=PW, actor=CLI_ACTOR)
    directory.set_active("bob", False, actor=CLI_ACTOR)
    assert directory.authenticate("bob", "nope").failure is AuthFailure.BAD_PASSWORD
    assert directory.authenticate("bob", PW).failure is AuthFailure.DISABLED
    directory.set_active("bob", True, actor=CLI_ACTOR)
    assert directory.authenticate("bob", PW).ok


def test_user_without_password_cannot_log_in(directory: Directory) -> None:
    directory.create_user("alice", "alice@example.com", actor=CLI_ACTOR)
    assert directory.authenticate("alice", "").failure is AuthFailure.NO_PASSWORD
    assert directory.authenticate("alice", "anything").failure is AuthFailure.NO_PASSWORD


def test_every_authentication_is_audited(directory: Directory, store: Store) -> None:
    directory.create_user("alice", "alice@example.com", password=PW, actor=CLI_ACTOR)
    directory.authenticate("alice", PW, ip="192.0.2.7", via="ldap")
    directory.authenticate("alice", "wrong", ip="192.0.2.8")
    events = store.audit_events(action="auth.password")
    assert [(e.target, e.outcome, e.ip, e.details["via"]) for e in events] == [
        ("alice", "bad_password", "192.0.2.8", "web"),
        ("alice", "success", "192.0.2.7", "ldap"),
    ]
    # No secret ever reaches the audit log.
    assert all(PW not in str(e) and "wrong" not in str(e.details) for e in events)


def test_rehash_when_parameters_change(directory: Directory, store: Store) -> None:
    user = directory.create_user("alice", "alice@example.com", password=PW, actor=CLI_ACTOR)
    before = store.credentials(user.id)
    assert before is not None and before.password_hash is not None
    assert "$m=19456,t=2,p=1$" in before.password_hash
    directory.set_setting("argon2_time_cost", "3", actor=CLI_ACTOR)
    assert directory.authenticate("alice", PW).ok
    after = store.credentials(user.id)
    assert after is not None and after.password_hash is not None
    assert "$m=19456,t=3,p=1$" in after.password_hash
    assert directory.authenticate("alice", PW).ok


def test_password_policy(directory: Directory) -> None:
    directory.create_user("alice", "alice@example.com", actor=CLI_ACTOR)
    with pytest.raises(InvalidInput, match="at least 8"):
        directory.set_password("alice", "short", actor=CLI_ACTOR)
    directory.set_setting("password_min_length", "12", actor=CLI_ACTOR)
    with pytest.raises(InvalidInput, match="at least 12"):
        directory.create_user("bob", "bob@example.com", password="elevenchars", actor=CLI_ACTOR)


def test_owner_is_protected(directory: Directory) -> None:
    directory.create_user("alice", "alice@example.com", actor=CLI_ACTOR)
    with pytest.raises(Forbidden):
        directory.delete_user("alice", actor=CLI_ACTOR)
    with pytest.raises(Forbidden):
        directory.set_active("alice", False, actor=CLI_ACTOR)
    with pytest.raises(Forbidden):
        directory.set_role("alice", Role.USER, actor=CLI_ACTOR)


def test_groups_and_memberships(directory: Directory) -> None:
    directory.create_user("alice", "alice@example.com", actor=CLI_ACTOR)
    directory.create_user("bob", "bob@example.com", actor=CLI_ACTOR)
    directory.create_group("devs", description="Developers", actor=CLI_ACTOR)
    directory.create_group("ops", actor=CLI_ACTOR)
    assert directory.add_members("devs", ["alice", "bob"], actor=CLI_ACTOR) == ["alice", "bob"]
    assert directory.add_members("devs", ["alice"], actor=CLI_ACTOR) == []
    directory.add_members("ops", ["bob"], actor=CLI_ACTOR)
    directory.refresh()
    bob = directory.user("bob")
    assert directory.view.group_names_of(bob.id) == ["devs", "ops"]
    assert directory.remove_members("devs", ["bob"], actor=CLI_ACTOR) == ["bob"]
    directory.refresh()
    assert directory.view.group_names_of(bob.id) == ["ops"]
    with pytest.raises(Conflict):
        directory.create_group("DEVS", actor=CLI_ACTOR)
    with pytest.raises(NotFound):
        directory.add_members("devs", ["ghost"], actor=CLI_ACTOR)


def test_audit_records_who_what_and_where(directory: Directory, store: Store) -> None:
    admin = Actor("user", "alice", ip="198.51.100.4")
    directory.create_user("alice", "alice@example.com", actor=CLI_ACTOR)
    directory.create_group("devs", actor=admin)
    (event,) = store.audit_events(action="group.create")
    assert (event.actor, event.target, event.ip, event.outcome) == (
        "user:alice",
        "devs",
        "198.51.100.4",
        "success",
    )


def test_a_second_process_sees_changes_after_refresh(directory: Directory, store: Store) -> None:
    other = Directory(Store(store.url))
    other.refresh()
    assert not other.view.users
    directory.create_user("alice", "alice@example.com", actor=CLI_ACTOR)
    directory.create_group("devs", actor=CLI_ACTOR)
    directory.create_user("bob", "bob@example.com", groups=["devs"], actor=CLI_ACTOR)
    assert other.refresh()
    bob = other.view.user_by_email("BOB@example.com")
    assert bob is not None
    devs = other.view.group_by_name("devs")
    assert devs is not None and other.view.members(devs.id) == {bob.id}

    directory.update_profile("bob", email="robert@example.com", actor=CLI_ACTOR)
    directory.delete_group("devs", actor=CLI_ACTOR)
    assert other.refresh()
    assert other.view.user_by_email("bob@example.com") is None
    assert other.view.user_by_login("robert@example.com") == other.view.users[bob.id]
    assert other.view.group_by_name("devs") is None
    assert other.view.group_names_of(bob.id) == []

    directory.delete_user("bob", actor=CLI_ACTOR)
    assert other.refresh()
    assert other.view.user_by_username("bob") is None
    assert not other.refresh()
    other.store.close()


def test_deleting_a_user_drops_memberships(directory: Directory) -> None:
    directory.create_user("alice", "alice@example.com", actor=CLI_ACTOR)
    directory.create_group("devs", actor=CLI_ACTOR)
    directory.create_user("bob", "bob@example.com", groups=["devs"], actor=CLI_ACTOR)
    directory.refresh()
    directory.delete_user("bob", actor=CLI_ACTOR)
    devs = directory.group("devs")
    assert directory.view.members(devs.id) == set()


def test_revocation_listeners_hear_disable_delete_and_password(directory: Directory) -> None:
    heard: list[tuple[str, str]] = []
    directory.revocation_listeners.append(lambda user, why: heard.append((user.username, why)))
    directory.create_user("alice", "alice@example.com", actor=CLI_ACTOR)
    directory.create_user("bob", "bob@example.com", actor=CLI_ACTOR)
    directory.set_password("bob", PW, actor=CLI_ACTOR)
    directory.set_active("bob", False, actor=CLI_ACTOR)
    directory.delete_user("bob", actor=CLI_ACTOR)
    assert heard == [("bob", "password"), ("bob", "disabled"), ("bob", "deleted")]


def test_settings_are_typed_and_validated(directory: Directory) -> None:
    assert directory.settings()["mandatory_2fa"] is False
    assert directory.set_setting("mandatory_2fa", "on", actor=CLI_ACTOR) is True
    assert directory.settings()["mandatory_2fa"] is True
    with pytest.raises(InvalidInput, match="true or false"):
        directory.set_setting("lock_profile", "maybe", actor=CLI_ACTOR)
    with pytest.raises(InvalidInput, match="unknown setting"):
        directory.set_setting("colour", "blue", actor=CLI_ACTOR)
