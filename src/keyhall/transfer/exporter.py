"""Export: the directory as a stream of text chunks in one of the three formats.

Rows are streamed from the database (not from the in-memory view), so the CLI and the API
export without loading the whole directory; memberships are read up front (two integers per
membership). Password hashes are included only when asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from keyhall.directory.models import Actor, AuditEvent, Group, User
from keyhall.storage import bulk
from keyhall.storage.store import Store
from keyhall.transfer import csv_format, json_format, ldif
from keyhall.transfer.dn import escape_value

MEDIA_TYPES = {"json": "application/x-ndjson", "csv": "text/csv", "ldif": "text/x-ldif"}


def export(
    store: Store,
    fmt: str,
    *,
    actor: Actor,
    with_hashes: bool = False,
    base_dn: str = "dc=keyhall",
) -> Iterator[str]:
    """The export's text, chunk by chunk; audited when the first chunk is asked for."""
    if fmt not in MEDIA_TYPES:
        raise ValueError(f"unknown format {fmt!r}")
    details = {"format": fmt, "with_hashes": with_hashes}
    now = datetime.now(UTC)
    store.record_audit(AuditEvent(now, str(actor), "export", fmt, "success", actor.ip, details))
    with store.read() as conn:
        if fmt == "json":
            members = bulk.member_usernames(conn)
            yield json_format.header(now, with_hashes)
            for user, password_hash in bulk.iter_users(conn):
                yield json_format.user_line(user, password_hash, with_hashes)
            for group in bulk.iter_groups(conn):
                yield json_format.group_line(group, members.get(group.number, []))
        elif fmt == "csv":
            names = bulk.group_names_by_user(conn)
            yield csv_format.header()
            for user, password_hash in bulk.iter_users(conn):
                shown = password_hash if with_hashes else None
                yield csv_format.user_row(user, names.get(user.number, []), shown)
        else:
            members = bulk.member_usernames(conn)
            yield "version: 1\n\n"
            for user, password_hash in bulk.iter_users(conn):
                yield _user_entry(user, password_hash if with_hashes else None, base_dn)
            for group in bulk.iter_groups(conn):
                yield _group_entry(group, members.get(group.number, []), base_dn)


def user_dn(username: str, base_dn: str) -> str:
    return f"uid={escape_value(username)},ou=users,{base_dn}"


def ldap_password(stored: str) -> str:
    """A stored hash as an RFC 3112 `userPassword` value (OpenLDAP's scheme names)."""
    if stored.startswith("$argon2"):
        return "{ARGON2}" + stored
    if stored.startswith(("$2a$", "$2b$", "$2y$", "$5$", "$6$")):
        return "{CRYPT}" + stored
    if stored.startswith("$pbkdf2-sha256$"):
        return "{PBKDF2-SHA256}" + stored.removeprefix("$pbkdf2-sha256$")
    return stored


def _user_entry(user: User, password_hash: str | None, base_dn: str) -> str:
    attrs = [
        ("objectClass", "top"),
        ("objectClass", "person"),
        ("objectClass", "organizationalPerson"),
        ("objectClass", "inetOrgPerson"),
        ("uid", user.username),
        ("cn", user.display_name),
        ("sn", user.family_name or user.username),
    ]
    if user.given_name:
        attrs.append(("givenName", user.given_name))
    attrs += [("displayName", user.display_name), ("mail", user.email), ("entryUUID", user.id)]
    if password_hash:
        attrs.append(("userPassword", ldap_password(password_hash)))
    return ldif.write_entry(user_dn(user.username, base_dn), attrs)


def _group_entry(group: Group, members: list[str], base_dn: str) -> str:
    attrs = [("objectClass", "top"), ("objectClass", "groupOfNames"), ("cn", group.name)]
    if group.description:
        attrs.append(("description", group.description))
    attrs.append(("entryUUID", group.id))
    attrs += [("member", user_dn(m, base_dn)) for m in members]
    return ldif.write_entry(f"cn={escape_value(group.name)},ou=groups,{base_dn}", attrs)
