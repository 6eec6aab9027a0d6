"""Imports and exports on real databases (SQLite and PostgreSQL): plans, safety, round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from keyhall.directory.models import CLI_ACTOR
from keyhall.directory.service import Directory
from keyhall.storage import migrate
from keyhall.storage import tables as t
from keyhall.storage.store import Store
from keyhall.transfer.exporter import export
from keyhall.transfer.importer import Report, read_items, run_import
from keyhall.transfer.mapping import parse_map
from keyhall.transfer.plan import Options
from keyhall.transfer.problems import ImportRejected

SSHA = "{SSHA}Tgz2VVvdyo5dR/NLgGPbDMxac49I0hCW"  # slappasswd -s alicepw

LDIF = f"""dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
dc: example
o: example

dn: uid=alice,ou=users,dc=example,dc=org
objectClass: inetOrgPerson
uid: alice
cn: Alice Liddell
sn: Liddell
mail: alice@example.org
userPassword: {SSHA}

dn: uid=bob,ou=users,dc=example,dc=org
objectClass: inetOrgPerson
objectClass: posixAccount
uid: bob
cn: Bob
sn: B
mail: bob@example.org
uidNumber: 5001
gidNumber: 5001
homeDirectory: /home/bob

dn: cn=staff,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: staff
member: uid=alice,ou=users,dc=example,dc=org
member: uid=bob,ou=users,dc=example,dc=org
"""


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def run(
    directory: Directory, text: str, fmt: str = "ldif", dry_run: bool = False, **options: bool
) -> Report:
    return run_import(
        directory,
        read_items(lines(text), fmt),
        options=Options(**options),
        actor=CLI_ACTOR,
        dry_run=dry_run,
    )


def table_counts(store: Store) -> tuple[int, ...]:
    with store.read() as conn:
        return tuple(
            int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
            for table in (t.users, t.groups, t.memberships, t.audit_events)
        )


def test_ldif_import_creates_users_groups_and_memberships(directory: Directory) -> None:
    report = run(directory, LDIF)
    assert report.counts["users_create"] == 2 and report.counts["groups_create"] == 1
    assert report.counts["memberships"] == 2 and report.counts["entries_skipped"] == 1
    directory.refresh()
    alice, bob = directory.user("alice"), directory.user("bob")
    assert (alice.display_name, alice.given_name, alice.family_name) == (
        "Alice Liddell",
        "Alice",
        "Liddell",
    )
    assert bob.number == 5001  # the POSIX uidNumber is kept
    staff = directory.group("staff")
    assert directory.view.members(staff.id) == {alice.id, bob.id}
    assert directory.authenticate("alice", "alicepw").ok
    credentials = directory.store.credentials(alice.id)
    assert credentials is not None and credentials.password_hash is not None
    assert credentials.password_hash.startswith("$argon2id$")  # re-hashed at first login
    assert directory.authenticate("alice", "alicepw").ok
    assert not directory.authenticate("bob", "anything").ok  # no password: invitation later
    (event,) = directory.store.audit_events(action="import")
    assert event.details["users_create"] == 2 and event.actor == "cli:local"
    assert {e.target for e in directory.store.audit_events(action="user.import_create")} == {
        "alice",
        "bob",
    }


def test_dry_run_writes_nothing_and_says_why(directory: Directory) -> None:
    before = table_counts(directory.store)
    report = run(directory, LDIF, dry_run=True)
    assert table_counts(directory.store) == before
    assert [(u["username"], u["action"]) for u in report.users] == [
        ("alice", "create"),
        ("bob", "create"),
    ]
    assert report.skipped_entries[0]["entry"] == "dc=example,dc=org"


def test_existing_users_are_skipped_unless_update(directory: Directory) -> None:
    run(directory, LDIF)
    changed = LDIF.replace("cn: Alice Liddell", "cn: Alice Pleasance Liddell")
    report = run(directory, changed)
    assert report.counts["users_skip"] == 2 and report.counts["users_create"] == 0
    assert "use --update" in report.users[0]["reason"]
    directory.refresh()
    assert directory.user("alice").display_name == "Alice Liddell"
    report = run(directory, changed, update=True)
    assert report.counts["users_update"] == 2
    directory.refresh()
    assert directory.user("alice").display_name == "Alice Pleasance Liddell"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            LDIF.replace("mail: bob@example.org", "mail: bob@exam\nple.org"),
            22,
            "expected 'attribute: value'",
        ),
        (LDIF.replace(SSHA, "{MD4}c2VjcmV0"), 7, "unknown password hash scheme {MD4}"),
        (LDIF.replace("dn: uid=bob,", "dn: uid=alice,"), 15, "duplicate username 'alice'"),
        (
            LDIF + "member: uid=carol,ou=users,dc=example,dc=org\n",
            26,
            "member 'uid=carol,ou=users,dc=example,dc=org' is not an entry of the file",
        ),
        (LDIF.replace(SSHA, "alicepw"), 7, "cleartext password refused"),
        (LDIF.replace("mail: bob@example.org", "mail: alice@example.org"), 15, "duplicate email"),
    ],
)
def test_malformed_input_is_located_and_nothing_written(
    directory: Directory, text: str, line: int, message: str
) -> None:
    before = table_counts(directory.store)
    with pytest.raises(ImportRejected) as caught:
        run(directory, text)
    assert table_counts(directory.store) == before
    problem = caught.value.problems[0]
    assert problem.line == line and message in problem.message, problem


def test_every_problem_of_a_file_is_reported(directory: Directory) -> None:
    text = LDIF.replace(SSHA, "{MD4}c2VjcmV0").replace("dn: uid=bob,", "dn: uid=al ice,")
    with pytest.raises(ImportRejected) as caught:
        run(directory, text)
    assert [p.line for p in caught.value.problems] == [7, 15, 26, 26]


def test_cleartext_is_hashed_only_when_asked(directory: Directory) -> None:
    text = LDIF.replace(SSHA, "{CLEARTEXT}alice-password")
    run(directory, text, hash_plaintext=True)
    directory.refresh()
    alice = directory.user("alice")
    stored = directory.store.credentials(alice.id)
    assert stored is not None and (stored.password_hash or "").startswith("$argon2id$")
    assert directory.authenticate("alice", "alice-password").ok


def test_existing_user_with_the_same_email_is_a_problem(directory: Directory) -> None:
    directory.create_user("carol", "alice@example.org", actor=CLI_ACTOR)
    with pytest.raises(ImportRejected, match="already belongs to user 'carol'"):
        run(directory, LDIF)


def test_memberuid_groups_and_nested_groups(directory: Directory) -> None:
    text = (
        LDIF
        + """
dn: cn=devs,ou=groups,dc=example,dc=org
objectClass: posixGroup
cn: devs
gidNumber: 7000
memberUid: bob

dn: cn=all,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: all
member: cn=staff,ou=groups,dc=example,dc=org
member: cn=all,ou=groups,dc=example,dc=org
"""
    )
    report = run(directory, text)
    assert report.warnings and "nested group" in report.warnings[0]["message"]
    directory.refresh()
    devs = directory.group("devs")
    assert devs.number == 7000
    assert directory.view.members(devs.id) == {directory.user("bob").id}
    assert directory.view.members(directory.group("all").id) == set()


def test_mapping_renames_attributes_for_active_directory(directory: Directory) -> None:
    ad = """dn: CN=Alice Liddell,OU=People,DC=corp,DC=example
objectClass: top
objectClass: person
objectClass: user
cn: Alice Liddell
sAMAccountName: alice
userPrincipalName: alice@corp.example
givenName: Alice
sn: Liddell

dn: CN=Staff,OU=Groups,DC=corp,DC=example
objectClass: group
cn: Staff
member: CN=Alice Liddell,OU=People,DC=corp,DC=example
"""
    amap = parse_map(["uid=sAMAccountName", "mail=userPrincipalName"])
    run_import(directory, read_items(lines(ad), "ldif", amap), options=Options(), actor=CLI_ACTOR)
    directory.refresh()
    alice = directory.user("alice")
    assert alice.email == "alice@corp.example"
    assert directory.view.members(directory.group("staff").id) == {alice.id}


def test_csv_with_groups_column_and_mapping(directory: Directory, tmp_path: Path) -> None:
    bcrypt_hash = "$2b$04$1eKv1nD//l5Et4Fcdg8mt.UL9L9I0CR/0sMIYxUkXuZ2FPkFxPEzG"  # "x"
    mapping = tmp_path / "map.txt"
    mapping.write_text("# ours=theirs\nusername=login\n")
    text = (
        "login,email,display_name,password_hash,groups\r\n"
        f'alice,alice@example.org,"Liddell, Alice",{bcrypt_hash},staff;readers\r\n'
        "bob,bob@example.org,Bob,,staff\r\n"
    )
    items = read_items(lines(text), "csv", parse_map([f"@{mapping}"]))
    report = run_import(directory, items, options=Options(), actor=CLI_ACTOR)
    assert report.counts["groups_create"] == 2 and report.counts["memberships"] == 3
    directory.refresh()
    assert directory.user("alice").display_name == "Liddell, Alice"
    assert directory.authenticate("alice", "x").ok
    with pytest.raises(ImportRejected) as caught:
        run(directory, "username,email,nickname\r\nc,c@example.org,x\r\n", "csv")
    assert "unknown column(s): nickname" in str(caught.value)


def _export(store: Store) -> list[dict[str, object]]:
    text = "".join(export(store, "json", actor=CLI_ACTOR, with_hashes=True))
    return [json.loads(line) for line in text.splitlines()[1:]]


def test_json_round_trip_into_a_fresh_database_is_exact(
    directory: Directory, tmp_path: Path
) -> None:
    owner = directory.create_user(
        "owner", "owner@example.org", password="owner pw 1", actor=CLI_ACTOR
    )
    run(directory, LDIF)
    directory.create_group("empty", description="nobody yet", actor=CLI_ACTOR)
    directory.set_active("bob", False, actor=CLI_ACTOR)
    original = _export(directory.store)
    assert original[0]["role"] == "owner" and original[0]["id"] == owner.id

    fresh = Store(f"sqlite:///{tmp_path / 'fresh.db'}")
    migrate.upgrade(fresh.engine)
    try:
        text = "".join(export(directory.store, "json", actor=CLI_ACTOR, with_hashes=True))
        run(Directory(fresh), text, "json")
        assert _export(fresh) == original
        # A user created afterwards gets a fresh number past the imported ones.
        later = Directory(fresh).create_user("zed", "zed@example.org", actor=CLI_ACTOR)
        assert later.number > max(int(str(u["number"])) for u in original if u["type"] == "user")
        assert Directory(fresh).authenticate("alice", "alicepw").ok
        assert Directory(fresh).authenticate("owner", "owner pw 1").ok
    finally:
        fresh.close()


def test_reimporting_an_export_changes_nothing(directory: Directory) -> None:
    run(directory, LDIF)
    text = "".join(export(directory.store, "json", actor=CLI_ACTOR, with_hashes=True))
    bob_line = 1 + next(i for i, ln in enumerate(text.splitlines()) if '"username":"bob"' in ln)
    with pytest.raises(ImportRejected, match=f"line {bob_line}: field 'username' has the wrong"):
        run(directory, text.replace('"username":"bob"', '"username":7'), "json")
    report = run(directory, text, "json")
    assert report.counts["users_skip"] == 2  # already there: nothing changes
