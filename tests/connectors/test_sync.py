"""Syncing users and groups from slapd: creation, updates, renames, removal, conflicts, guards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.connectors.conftest import BASE, person, settings_for
from tests.support.slapd_ext import SlapdExt

from keyhall.connectors.connector import ExternalDirectory
from keyhall.connectors.sync import HOLDER, LEASE
from keyhall.directory.models import CLI_ACTOR, AuthFailure
from keyhall.directory.service import Directory
from keyhall.errors import Conflict
from keyhall.storage import migrate
from keyhall.storage.external_store import ExternalStore
from keyhall.storage.store import Store


def members(local: Directory, group: str) -> list[str]:
    local.refresh()
    g = local.group(group)
    return sorted(local.view.users[u].username for u in local.view.members(g.id))


def test_full_sync(connector: ExternalDirectory, local: Directory) -> None:
    report = connector.sync(actor=CLI_ACTOR)
    assert (report.status, report.created, report.groups_created) == ("ok", 3, 2)
    assert report.conflicts == [] and report.errors == []
    local.refresh()
    alice = local.user("alice")
    assert (alice.source, alice.email, alice.given_name, alice.family_name) == (
        "external",
        "alice@example.org",
        "Alice",
        "Liddell",
    )
    assert alice.external_id and len(alice.external_id) == 36
    assert members(local, "staff") == ["alice", "bob"]
    assert members(local, "devs") == ["carol"]
    assert local.group("staff").source == "external"
    # Synced users log in with their directory password (there is no local one).
    assert local.authenticate("carol", "carol-secret-1").ok
    # One report row and one audit event per run.
    runs = ExternalStore(local.store).runs()
    assert [(r["status"], r["created"]) for r in runs] == [("ok", 3)]
    [event] = local.store.audit_events(action="external.sync")
    assert event.details["created"] == 3


def test_resync_changes_only_what_changed(
    connector: ExternalDirectory, local: Directory, upstream: SlapdExt
) -> None:
    connector.sync(actor=CLI_ACTOR)
    again = connector.sync(actor=CLI_ACTOR)
    assert (again.created, again.updated, again.memberships_changed) == (0, 0, 0)
    upstream.modify(
        f"dn: uid=bob,ou=users,{BASE}\nchangetype: modify\nreplace: mail\n"
        "mail: robert@example.org\n-\nreplace: cn\ncn: Robert Builder\n"
    )
    upstream.modify(
        f"dn: cn=devs,ou=groups,{BASE}\nchangetype: modify\nadd: member\n"
        f"member: uid=alice,ou=users,{BASE}\n"
    )
    report = connector.sync(actor=CLI_ACTOR)
    assert (report.created, report.updated, report.memberships_changed) == (0, 1, 1)
    local.refresh()
    bob = local.user("bob")
    assert (bob.email, bob.display_name) == ("robert@example.org", "Robert Builder")
    assert members(local, "devs") == ["alice", "carol"]


def test_rename_upstream_keeps_the_account(
    connector: ExternalDirectory, local: Directory, upstream: SlapdExt
) -> None:
    connector.sync(actor=CLI_ACTOR)
    before = local.user("carol")
    # A new RDN and a new uid: only entryUUID stays.
    upstream.modify(
        f"dn: uid=carol,ou=users,{BASE}\nchangetype: modrdn\nnewrdn: uid=cdanvers\n"
        "deleteoldrdn: 1\n"
    )
    # What the refint overlay (or AD) does: the group now names the new DN.
    upstream.modify(
        f"dn: cn=devs,ou=groups,{BASE}\nchangetype: modify\nreplace: member\n"
        f"member: uid=cdanvers,ou=users,{BASE}\n"
    )
    report = connector.sync(actor=CLI_ACTOR)
    assert (report.created, report.updated, report.memberships_changed) == (0, 1, 0)
    local.refresh()
    after = local.user("cdanvers")
    assert after.id == before.id
    assert local.view.user_by_username("carol") is None
    assert members(local, "devs") == ["cdanvers"]


def test_swapped_usernames(
    connector: ExternalDirectory, local: Directory, upstream: SlapdExt
) -> None:
    connector.sync(actor=CLI_ACTOR)
    ids = {name: local.user(name).id for name in ("alice", "bob")}
    for dn, uid in (("alice", "tmpname"), ("bob", "alice"), ("tmpname", "bob")):
        upstream.modify(
            f"dn: uid={dn},ou=users,{BASE}\nchangetype: modrdn\nnewrdn: uid={uid}\n"
            "deleteoldrdn: 1\n"
        )
    report = connector.sync(actor=CLI_ACTOR)
    assert report.status == "ok", report.errors
    local.refresh()
    assert local.user("bob").id == ids["alice"]
    assert local.user("alice").id == ids["bob"]


def test_removal_and_return(
    connector: ExternalDirectory, local: Directory, upstream: SlapdExt
) -> None:
    connector.set({"max_deactivate_percent": "50"}, actor=CLI_ACTOR)
    connector.sync(actor=CLI_ACTOR)
    upstream.add(f"dn: ou=former,{BASE}\nobjectClass: organizationalUnit\nou: former\n")
    # Moving an entry out of users_base_dn keeps its entryUUID, like AD's "disabled" OUs.
    upstream.modify(
        f"dn: uid=bob,ou=users,{BASE}\nchangetype: modrdn\nnewrdn: uid=bob\n"
        f"deleteoldrdn: 1\nnewsuperior: ou=former,{BASE}\n"
    )
    report = connector.sync(actor=CLI_ACTOR)
    assert (report.status, report.disabled) == ("ok", 1)
    local.refresh()
    bob = local.user("bob")
    assert bob.external_missing and not bob.can_log_in
    # Kept, but refused everywhere: the upstream no longer knows the login.
    assert local.authenticate("bob", "bob-secret-1").failure is AuthFailure.EXTERNAL_MISSING
    upstream.modify(
        f"dn: uid=bob,ou=former,{BASE}\nchangetype: modrdn\nnewrdn: uid=bob\n"
        f"deleteoldrdn: 1\nnewsuperior: ou=users,{BASE}\n"
    )
    back = connector.sync(actor=CLI_ACTOR)
    assert (back.restored, back.created) == (1, 0)
    local.refresh()
    assert local.user("bob").id == bob.id
    assert local.user("bob").can_log_in
    assert local.authenticate("bob", "bob-secret-1").ok


def test_groups_removed_upstream_are_kept(
    connector: ExternalDirectory, local: Directory, upstream: SlapdExt
) -> None:
    connector.sync(actor=CLI_ACTOR)
    upstream.delete(f"cn=devs,ou=groups,{BASE}")
    report = connector.sync(actor=CLI_ACTOR)
    assert report.groups_updated == 1
    local.refresh()
    devs = local.group("devs")
    assert devs.external_missing
    assert members(local, "devs") == ["carol"]


def test_mass_deactivation_aborts(
    connector: ExternalDirectory, local: Directory, upstream: SlapdExt
) -> None:
    connector.sync(actor=CLI_ACTOR)
    # A filter typo matches nobody: that must not lock everyone out.
    connector.set({"users_filter": "(objectClass=inetOrgPersn)"}, actor=CLI_ACTOR)
    report = connector.sync(actor=CLI_ACTOR)
    assert report.status == "aborted"
    assert "max_deactivate_percent" in report.errors[0]
    local.refresh()
    assert all(local.user(n).can_log_in for n in ("alice", "bob", "carol"))
    assert ExternalStore(local.store).runs()[0]["status"] == "aborted"
    [event, _] = local.store.audit_events(action="external.sync")
    assert event.outcome == "aborted"


def test_conflicts_are_skipped_and_reported(connector: ExternalDirectory, local: Directory) -> None:
    local.create_user("carol", "carol@local.test", password="carol-local-1", actor=CLI_ACTOR)
    local.create_user("someone", "alice@example.org", actor=CLI_ACTOR)
    local.create_group("devs", actor=CLI_ACTOR)
    report = connector.sync(actor=CLI_ACTOR)
    assert report.created == 1  # bob only
    assert len(report.conflicts) == 3
    assert any("'carol'" in c for c in report.conflicts)
    assert any("alice@example.org" in c for c in report.conflicts)
    assert any("group name 'devs'" in c for c in report.conflicts)
    local.refresh()
    carol = local.user("carol")
    assert (carol.source, carol.email) == ("local", "carol@local.test")
    assert local.authenticate("carol", "carol-local-1").ok
    assert local.view.user_by_username("alice") is None


def test_link_existing_by_email(connector: ExternalDirectory, local: Directory) -> None:
    local.create_user("al", "alice@example.org", actor=CLI_ACTOR)
    connector.set({"link_existing_by_email": "true"}, actor=CLI_ACTOR)
    report = connector.sync(actor=CLI_ACTOR)
    assert report.conflicts == []
    local.refresh()
    alice = local.user("alice")
    assert alice.source == "external"
    assert local.view.user_by_username("al") is None


def test_group_mappings_and_auto_join(
    connector: ExternalDirectory, local: Directory, upstream: SlapdExt
) -> None:
    local.create_group("employees", actor=CLI_ACTOR)
    local.create_group("everyone", actor=CLI_ACTOR)
    local.create_user("dora", "dora@example.net", groups=["employees"], actor=CLI_ACTOR)
    connector.set(
        {
            "sync_groups": "false",
            "group_mappings": f'{{"cn=staff,ou=groups,{BASE}": "employees"}}',
            "auto_join_groups": "everyone",
        },
        actor=CLI_ACTOR,
    )
    report = connector.sync(actor=CLI_ACTOR)
    assert report.groups_created == 0
    assert members(local, "employees") == ["alice", "bob", "dora"]
    assert members(local, "everyone") == ["alice", "bob", "carol"]
    upstream.modify(
        f"dn: cn=staff,ou=groups,{BASE}\nchangetype: modify\ndelete: member\n"
        f"member: uid=bob,ou=users,{BASE}\n"
    )
    connector.sync(actor=CLI_ACTOR)
    # The directory decides for its users; local members are left alone.
    assert members(local, "employees") == ["alice", "dora"]
    assert members(local, "everyone") == ["alice", "bob", "carol"]


def test_member_of_attribute(connector: ExternalDirectory, local: Directory) -> None:
    # slapd's memberof overlay maintains memberOf on the users.
    connector.set({"member_attribute": "memberOf"}, actor=CLI_ACTOR)
    connector.sync(actor=CLI_ACTOR)
    assert members(local, "staff") == ["alice", "bob"]
    assert members(local, "devs") == ["carol"]


def test_local_groups_may_hold_external_users(
    connector: ExternalDirectory, local: Directory
) -> None:
    connector.sync(actor=CLI_ACTOR)
    local.create_group("mixed", actor=CLI_ACTOR)
    local.add_members("mixed", ["alice", "owner"], actor=CLI_ACTOR)
    connector.sync(actor=CLI_ACTOR)
    assert members(local, "mixed") == ["alice", "owner"]


def test_dry_run_changes_nothing(connector: ExternalDirectory, local: Directory) -> None:
    version = local.store.version()
    report = connector.sync(actor=CLI_ACTOR, dry_run=True)
    assert (report.created, report.groups_created) == (3, 2)
    assert local.store.version() == version
    assert ExternalStore(local.store).runs() == []


def test_one_sync_at_a_time(connector: ExternalDirectory, local: Directory) -> None:
    xstore = ExternalStore(local.store)
    now = datetime.now(UTC)
    assert xstore.acquire_lease(LEASE, "other-node", now, timedelta(minutes=5))
    with pytest.raises(Conflict):
        connector.sync(actor=CLI_ACTOR)
    assert not xstore.acquire_lease(LEASE, HOLDER, now, timedelta(minutes=5))
    # An expired lease is taken over.
    later = now + timedelta(minutes=6)
    assert xstore.acquire_lease(LEASE, HOLDER, later, timedelta(minutes=5))
    xstore.release_lease(LEASE, HOLDER)
    assert connector.sync(actor=CLI_ACTOR).status == "ok"


def test_disable_turns_everyone_local(connector: ExternalDirectory, local: Directory) -> None:
    connector.sync(actor=CLI_ACTOR)
    counts = connector.disable(actor=CLI_ACTOR)
    assert counts == {"users": 3, "groups": 2}
    local.refresh()
    alice = local.user("alice")
    assert (alice.source, alice.external_id) == ("local", None)
    assert local.authenticate("alice", "alice-secret-1").failure is AuthFailure.NO_PASSWORD
    assert not connector.config(fresh=True).enabled
    local.set_password("alice", "a-new-local-pass", actor=CLI_ACTOR)
    assert local.authenticate("alice", "a-new-local-pass").ok


def test_sync_of_unreachable_directory_fails_cleanly(
    connector: ExternalDirectory, local: Directory, upstream: SlapdExt
) -> None:
    connector.sync(actor=CLI_ACTOR)
    upstream.stop()
    report = connector.sync(actor=CLI_ACTOR)
    assert report.status == "failed"
    assert "cannot connect" in report.errors[0]
    local.refresh()
    assert all(local.user(n).can_log_in for n in ("alice", "bob", "carol"))


def test_invalid_upstream_entries_are_reported(
    connector: ExternalDirectory, local: Directory, upstream: SlapdExt
) -> None:
    upstream.add(person("Bad Name!", "Bad", "Name", mail="bad@example.org"))
    upstream.add(person("nomail", "No", "Mail", mail="not-an-email"))
    report = connector.sync(actor=CLI_ACTOR)
    assert report.created == 3
    assert len(report.errors) == 2


@pytest.mark.postgres
def test_sync_on_postgresql(pg_url: str, upstream: SlapdExt) -> None:
    store = Store(pg_url)
    migrate.upgrade(store.engine)
    try:
        local = Directory(store)
        local.create_user("owner", "owner@example.net", actor=CLI_ACTOR)
        ext = ExternalDirectory(local, bytes(32))
        ext.set(settings_for(upstream), actor=CLI_ACTOR)
        assert ext.sync(actor=CLI_ACTOR).created == 3
        for dn, uid in (("alice", "tmpname"), ("bob", "alice"), ("tmpname", "bob")):
            upstream.modify(
                f"dn: uid={dn},ou=users,{BASE}\nchangetype: modrdn\nnewrdn: uid={uid}\n"
                "deleteoldrdn: 1\n"
            )
        report = ext.sync(actor=CLI_ACTOR)
        assert (report.status, report.updated) == ("ok", 2)
        assert members(local, "staff") == ["alice", "bob"]
        local.refresh()
        assert local.user("alice").email == "bob@example.org"
    finally:
        store.close()
