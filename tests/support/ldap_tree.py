"""A small directory for LDAP tests, built through the real use cases on SQLite."""

from __future__ import annotations

from pathlib import Path

from keyhall.directory.models import CLI_ACTOR
from keyhall.directory.service import Directory
from keyhall.ldap.entries import Dit, DitBuilder, TreeOptions
from keyhall.storage import migrate
from keyhall.storage.store import Store

BASE = "dc=example,dc=org"


def small_directory(tmp_path: Path) -> Directory:
    """owner (owner), alice (admin), bob, carol (disabled); groups dev {alice, bob}, ops {bob}."""
    store = Store(f"sqlite:///{tmp_path / 'tree.db'}")
    migrate.upgrade(store.engine)
    d = Directory(store)
    d.create_user("owner", "owner@example.org", display_name="Olive Owner", actor=CLI_ACTOR)
    d.create_user("alice", "Alice@Example.org", display_name="Alice Liddell", admin=True,
                  actor=CLI_ACTOR)  # fmt: skip
    d.create_user("bob", "bob@example.org", actor=CLI_ACTOR)
    d.create_user("carol", "carol@example.org", display_name="Carol Danvers", actor=CLI_ACTOR)
    d.create_group("dev", description="Developers", actor=CLI_ACTOR)
    d.create_group("ops", actor=CLI_ACTOR)
    d.add_members("dev", ["alice", "bob"], actor=CLI_ACTOR)
    d.add_members("ops", ["bob", "carol"], actor=CLI_ACTOR)
    d.set_active("carol", False, actor=CLI_ACTOR)
    d.refresh()
    return d


def build(d: Directory, *, show_disabled: bool = False) -> Dit:
    return DitBuilder(TreeOptions(BASE, show_disabled=show_disabled)).build(d.view)
