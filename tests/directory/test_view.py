"""The in-memory view: incremental refresh, and readers that a refresh never breaks."""

from __future__ import annotations

from keyhall.directory.models import CLI_ACTOR
from keyhall.directory.service import Directory
from keyhall.storage.store import Store


def test_a_refresh_never_breaks_a_reader_mid_iteration(directory: Directory) -> None:
    for i in range(5):
        directory.create_user(f"user{i}", f"user{i}@example.com", actor=CLI_ACTOR)
    view = directory.view
    view.refresh(directory.store)
    reading = iter(view.all_users())
    first = next(reading)
    directory.create_user("late", "late@example.com", actor=CLI_ACTOR)
    directory.delete_user("user3", actor=CLI_ACTOR)
    assert view.refresh(directory.store) is False  # the writes above refreshed already
    # The reader keeps the snapshot it started with; new readers see the new directory.
    rest = [u.username for u in reading]
    assert sorted([first.username, *rest]) == [f"user{i}" for i in range(5)]
    assert sorted(u.username for u in view.all_users()) == [
        "late", "user0", "user1", "user2", "user4",
    ]  # fmt: skip


def test_stale_changes_are_ignored(directory: Directory, store: Store) -> None:
    directory.create_user("alice", "alice@example.com", actor=CLI_ACTOR)
    view = directory.view
    view.refresh(store)
    stale = store.changes_since(0)
    directory.update_profile("alice", display_name="Alice Liddell", actor=CLI_ACTOR)
    view.refresh(store)
    assert view.apply(stale) is False
    alice = view.user_by_username("alice")
    assert alice is not None and alice.display_name == "Alice Liddell"


def test_login_unknown_to_the_view_is_found_in_sql(directory: Directory, store: Store) -> None:
    directory.create_user("alice", "alice@example.com", actor=CLI_ACTOR)
    directory.view.refresh(store)
    # Another process adds bob; this view has not refreshed yet.
    other = Store(store.url)
    Directory(other).create_user(
        "bob", "bob@example.com", password="correct horse battery", actor=CLI_ACTOR
    )
    other.close()
    assert directory.view.user_by_username("bob") is None
    assert directory.authenticate("bob@example.com", "correct horse battery").ok
