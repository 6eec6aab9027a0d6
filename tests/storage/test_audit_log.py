"""Reading the audit log with filters, on SQLite and PostgreSQL (time ranges across zones)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from keyhall.directory.models import AuditEvent
from keyhall.errors import InvalidInput
from keyhall.storage.audit_log import AuditFilter, search
from keyhall.storage.store import Store

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _event(
    minutes: int, actor: str, action: str, target: str, outcome: str = "success"
) -> AuditEvent:
    return AuditEvent(T0 + timedelta(minutes=minutes), actor, action, target, outcome)


@pytest.fixture
def logged(store: Store) -> Store:
    for event in [
        _event(0, "cli:local", "user.create", "alice"),
        _event(1, "token:ci", "user.create", "bob"),
        _event(2, "user:alice", "group.create", "staff"),
        _event(3, "user:alice", "user_x.odd", "x"),
        _event(4, "anonymous", "auth.password", "mallory", "bad_password"),
    ]:
        store.record_audit(event)
    return store


def _actions(store: Store, f: AuditFilter, **kw: int) -> list[str]:
    return [f"{e.action}:{e.target}" for e in search(store, f, **kw).items]


def test_filters(logged: Store) -> None:
    assert _actions(logged, AuditFilter(action="user.create")) == [
        "user.create:bob",
        "user.create:alice",
    ]
    # A prefix ends in a dot; '_' in it is a character, not a LIKE wildcard.
    assert _actions(logged, AuditFilter(action="user.")) == ["user.create:bob", "user.create:alice"]
    assert _actions(logged, AuditFilter(action="user_x.")) == ["user_x.odd:x"]
    assert _actions(logged, AuditFilter(actor="user:alice")) == [
        "user_x.odd:x",
        "group.create:staff",
    ]
    assert _actions(logged, AuditFilter(target="mallory", outcome="bad_password")) == [
        "auth.password:mallory"
    ]
    assert _actions(logged, AuditFilter(actor="user:al%")) == []


def test_time_range_in_any_zone(logged: Store) -> None:
    plus_two = timezone(timedelta(hours=2))
    since = (T0 + timedelta(minutes=1)).astimezone(plus_two)
    until = (T0 + timedelta(minutes=3)).astimezone(plus_two)
    assert _actions(logged, AuditFilter(since=since, until=until)) == [
        "group.create:staff",
        "user.create:bob",
    ]


def test_pages_newest_first(logged: Store) -> None:
    first = search(logged, AuditFilter(), limit=2)
    assert first.total == 5 and [e.target for e in first.items] == ["mallory", "x"]
    rest = search(logged, AuditFilter(), offset=4, limit=2)
    assert [e.target for e in rest.items] == ["alice"] and rest.next_offset is None
    with pytest.raises(InvalidInput):
        search(logged, AuditFilter(), limit=501)
