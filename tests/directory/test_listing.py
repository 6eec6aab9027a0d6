"""Users and groups listed for administrators: search, filters, pages, read-only synced groups."""

from __future__ import annotations

from typing import Any

import pytest

from keyhall.directory import listing
from keyhall.directory.models import CLI_ACTOR, Role
from keyhall.directory.service import Directory
from keyhall.errors import Forbidden, InvalidInput


@pytest.fixture
def populated(directory: Directory) -> Directory:
    directory.refresh()
    directory.create_user("owner", "owner@example.com", actor=CLI_ACTOR)
    for i in range(5):
        directory.create_user(
            f"u{i}", f"u{i}@example.org", display_name=f"Person {i}", actor=CLI_ACTOR
        )
    directory.create_user("zed", "zed@elsewhere.net", admin=True, actor=CLI_ACTOR)
    directory.set_active("u3", False, actor=CLI_ACTOR)
    directory.create_group("team", actor=CLI_ACTOR)
    directory.add_members("team", ["u1", "zed"], actor=CLI_ACTOR)
    return directory


def _names(page: listing.Page[Any]) -> list[str]:
    return [getattr(x, "username", getattr(x, "name", "")) for x in page.items]


def test_users_search_filters_and_pages(populated: Directory) -> None:
    view = populated.view
    everyone = listing.users(view, listing.UserQuery(), limit=3)
    assert _names(everyone) == ["owner", "u0", "u1"] and everyone.total == 7
    assert (everyone.next_offset, everyone.previous_offset) == (3, None)
    last = listing.users(view, listing.UserQuery(), offset=6, limit=3)
    assert _names(last) == ["zed"] and last.next_offset is None and last.previous_offset == 3
    assert _names(listing.users(view, listing.UserQuery(search="PERSON 2"))) == ["u2"]
    assert _names(listing.users(view, listing.UserQuery(search="elsewhere"))) == ["zed"]
    assert _names(listing.users(view, listing.UserQuery(role=Role.ADMIN))) == ["zed"]
    assert _names(listing.users(view, listing.UserQuery(active=False))) == ["u3"]
    assert _names(listing.users(view, listing.UserQuery(group="team"))) == ["u1", "zed"]
    assert listing.users(view, listing.UserQuery(group="none")).total == 0
    with pytest.raises(InvalidInput) as bad:
        listing.users(view, listing.UserQuery(), limit=0)
    assert bad.value.field == "limit"
    with pytest.raises(InvalidInput):
        listing.users(view, listing.UserQuery(), offset=-1)


def test_groups_and_members(populated: Directory) -> None:
    view = populated.view
    populated.create_group("other", description="Team B", actor=CLI_ACTOR)
    assert _names(listing.groups(view)) == ["other", "team"]
    assert _names(listing.groups(view, "team b")) == ["other"]
    team = populated.group("team")
    assert listing.member_names(view, team) == ["u1", "zed"]


def test_synced_groups_are_read_only(populated: Directory) -> None:
    populated.create_group("synced", source="external", external_id="g1", actor=CLI_ACTOR)
    with pytest.raises(Forbidden):
        populated.add_members("synced", ["u1"], actor=CLI_ACTOR)
    with pytest.raises(Forbidden):
        populated.remove_members("synced", ["u1"], actor=CLI_ACTOR)
