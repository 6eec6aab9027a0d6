"""The served tree: entries, attributes, built-in groups and indexes, from a real directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.ldap_tree import BASE, build, small_directory

from keyhall.directory.models import CLI_ACTOR
from keyhall.directory.service import Directory
from keyhall.ldap.dn import normalize_dn
from keyhall.ldap.entries import Dit, DitBuilder, Kind, TreeOptions


@pytest.fixture
def directory(tmp_path: Path) -> Directory:
    return small_directory(tmp_path)


def test_tree_shape(directory: Directory) -> None:
    dit = build(directory)
    assert [e.dn for e in dit.children[BASE]] == [
        f"ou=users,{BASE}",
        f"ou=groups,{BASE}",
        f"ou=system,{BASE}",
    ]
    assert [e.dn for e in dit.children[f"ou=system,{BASE}"]] == [f"cn=admin,ou=system,{BASE}"]
    assert [e.attrs["uid"][0] for e in dit.children[dit.users_dn]] == ["owner", "alice", "bob"]
    assert [e.attrs["cn"][0] for e in dit.children[dit.groups_dn]] == [
        "admins",
        "users",
        "dev",
        "ops",
    ]
    assert list(dit.by_dn[BASE].attrs["objectClass"]) == ["top", "domain"]
    assert list(dit.by_dn[BASE].attrs["dc"]) == ["example"]


def test_user_entry(directory: Directory) -> None:
    dit = build(directory)
    alice = directory.user("alice")
    entry = dit.by_dn[f"uid=alice,ou=users,{BASE}"]
    assert entry.kind is Kind.USER
    assert list(entry.attrs["objectClass"]) == [
        "top", "person", "organizationalPerson", "inetOrgPerson", "user", "posixAccount"
    ]  # fmt: skip
    assert list(entry.attrs["mail"]) == ["Alice@Example.org"]
    assert list(entry.attrs["givenName"]) == ["Alice"] and list(entry.attrs["sn"]) == ["Liddell"]
    assert list(entry.attrs["uidNumber"]) == [str(10000 + alice.number)]
    assert list(entry.attrs["gidNumber"]) == ["10000"]
    assert list(entry.attrs["homeDirectory"]) == ["/home/alice"]
    assert list(entry.attrs["isadmin"]) == ["1"]
    assert list(entry.attrs["entryUUID"]) == [alice.id]
    assert list(entry.attrs["memberOf"]) == [
        f"cn=admins,ou=groups,{BASE}",
        f"cn=dev,ou=groups,{BASE}",
        f"cn=users,ou=groups,{BASE}",
    ]
    for values in entry.attrs.values():
        assert values and all(values)  # no empty attributes or values
    bob = dit.by_dn[f"uid=bob,ou=users,{BASE}"]
    assert list(bob.attrs["isadmin"]) == ["0"] and "givenName" in bob.attrs
    assert list(bob.attrs["sn"]) == ["bob"]  # no family name: the display name stands in


def test_groups_and_built_in_groups(directory: Directory) -> None:
    dit = build(directory)
    users = dit.group_entries["users"]
    assert list(users.attrs["member"]) == [
        f"uid=owner,ou=users,{BASE}",
        f"uid=alice,ou=users,{BASE}",
        f"uid=bob,ou=users,{BASE}",
    ]
    assert list(dit.group_entries["admins"].attrs["memberUid"]) == ["owner", "alice"]
    ops = dit.group_entries["ops"]
    assert list(ops.attrs["memberUid"]) == ["bob"]  # carol is disabled, so hidden
    assert ops.attrs["uniqueMember"] == ops.attrs["member"]
    dev = dit.group_entries["dev"]
    assert list(dev.attrs["gidNumber"]) == [str(20000 + directory.group("dev").number)]
    assert list(dev.attrs["description"]) == ["Developers"]
    assert list(dit.group_entries["admins"].attrs["gidNumber"]) == ["10001"]
    # Built-in groups' UUIDs are stable across builds and processes.
    assert build(directory).group_entries["users"].attrs["entryUUID"] == users.attrs["entryUUID"]


def test_disabled_users_can_be_listed_and_flagged(directory: Directory) -> None:
    dit = build(directory, show_disabled=True)
    carol = dit.by_dn[f"uid=carol,ou=users,{BASE}"]
    assert list(carol.attrs["userAccountControl"]) == ["514"]
    assert f"cn=users,ou=groups,{BASE}" not in carol.attrs["memberOf"]
    assert list(dit.by_dn[f"uid=bob,ou=users,{BASE}"].attrs["userAccountControl"]) == ["512"]


def test_dns_are_canonical(directory: Directory) -> None:
    dit = build(directory)
    for dn in dit.by_dn:
        assert normalize_dn(dn) == dn
    for entry in dit.by_dn.values():
        for attr in ("member", "memberOf", "uniqueMember"):
            for value in entry.attrs.get(attr, ()):
                assert normalize_dn(value) == value


def test_unchanged_users_are_reused_and_changes_rebuilt(directory: Directory) -> None:
    builder = DitBuilder(TreeOptions(BASE))
    first: Dit = builder.build(directory.view)
    directory.update_profile("bob", display_name="Bob Builder", actor=CLI_ACTOR)
    directory.refresh()
    second = builder.build(directory.view)
    alice_dn, bob_dn = f"uid=alice,ou=users,{BASE}", f"uid=bob,ou=users,{BASE}"
    assert second.by_dn[alice_dn] is first.by_dn[alice_dn]
    assert list(second.by_dn[bob_dn].attrs["displayName"]) == ["Bob Builder"]
    assert list(first.by_dn[bob_dn].attrs["displayName"]) == ["bob"]
    assert second.version > first.version


def test_indexes(directory: Directory) -> None:
    dit = build(directory)
    assert [e.dn for e in dit.lookup("mail", "alice@example.org")] == [f"uid=alice,ou=users,{BASE}"]
    member = dit.lookup("member", f"uid=bob,ou=users,{BASE}")
    assert [e.attrs["cn"][0] for e in member] == ["users", "dev", "ops"]
    assert len(dit.lookup("objectclass", "person")) == 3


def test_root_dse_and_subschema(directory: Directory) -> None:
    dit = build(directory)
    root = dit.entry("")
    assert root is not None and list(root.attrs["namingContexts"]) == [BASE]
    assert "1.2.840.113556.1.4.319" in root.attrs["supportedControl"]
    schema = dit.entry("cn=subschema")
    assert schema is not None
    assert any("NAME 'memberOf'" in a for a in schema.attrs["attributeTypes"])
    assert any("NAME 'posixAccount'" in c for c in schema.attrs["objectClasses"])
