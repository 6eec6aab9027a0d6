"""LDAP entries as users and groups: inetOrgPerson/person/posixAccount and the three group classes.

Attribute names follow RFC 4519 (uid, mail, cn, sn, givenName), RFC 2798 (displayName),
RFC 2307 (posixAccount, posixGroup, memberUid, uidNumber, gidNumber) and RFC 4530 (entryUUID),
each renamable with an `AttributeMap`. Active Directory's `user`/`group` classes are accepted
too, so `--map uid=sAMAccountName` is all an AD export needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from keyhall.directory import hashes
from keyhall.transfer import dn as dns
from keyhall.transfer import ldif
from keyhall.transfer.mapping import AttributeMap
from keyhall.transfer.records import GroupRecord, Item, Skipped, UserRecord

USER_CLASSES = frozenset(
    {"inetorgperson", "person", "organizationalperson", "posixaccount", "user", "account"}
)
GROUP_CLASSES = frozenset({"groupofnames", "groupofuniquenames", "posixgroup", "group"})


def records(lines: Iterable[str], amap: AttributeMap | None = None) -> Iterator[Item]:
    amap = amap or AttributeMap()
    for entry in ldif.read(lines):
        classes = {c.lower() for c in entry.all("objectclass")}
        if classes & GROUP_CLASSES:
            yield _group(entry, amap)
        elif classes & USER_CLASSES:
            yield _user(entry, amap)
        else:
            yield Skipped(entry.line, entry.dn, "neither a user nor a group")


def _value(entry: ldif.Entry, amap: AttributeMap, standard: str) -> str | None:
    return entry.first(amap.name(standard))


def _naming(entry: ldif.Entry, amap: AttributeMap, standard: str) -> str:
    """A naming attribute: the RDN's value when the RDN uses it (uid may be multi-valued)."""
    name = amap.name(standard)
    attr, value = dns.first_rdn(entry.dn)
    if attr == name and value:
        return value
    return entry.first(name) or ""


def _number(entry: ldif.Entry, amap: AttributeMap, standard: str) -> int | None:
    raw = _value(entry, amap, standard)
    return int(raw) if raw is not None and raw.strip().isdigit() else None


def _user(entry: ldif.Entry, amap: AttributeMap) -> UserRecord:
    passwords = entry.all(amap.name("userPassword"))
    # RFC 3112: a value without a {SCHEME} prefix is the cleartext password itself.
    stored = passwords[0] if passwords else None
    hashed = stored if stored is not None and hashes.is_hashed(stored) else None
    cleartext = stored.removeprefix("{CLEARTEXT}") if stored and hashed is None else None
    display = _value(entry, amap, "displayName") or _value(entry, amap, "cn")
    return UserRecord(
        line=entry.line,
        username=_naming(entry, amap, "uid"),
        email=_value(entry, amap, "mail") or "",
        display_name=display,
        given_name=_value(entry, amap, "givenName"),
        family_name=_value(entry, amap, "sn"),
        password_hash=hashed,
        password=cleartext,
        external_id=_value(entry, amap, "entryUUID"),
        dn=entry.dn,
        number=_number(entry, amap, "uidNumber"),
    )


def _group(entry: ldif.Entry, amap: AttributeMap) -> GroupRecord:
    member_dns = [*entry.all(amap.name("member")), *entry.all(amap.name("uniqueMember"))]
    return GroupRecord(
        line=entry.line,
        name=_naming(entry, amap, "cn"),
        description=_value(entry, amap, "description") or "",
        member_dns=tuple(m for m in member_dns if m.strip()),
        member_uids=tuple(entry.all(amap.name("memberUid"))),
        external_id=_value(entry, amap, "entryUUID"),
        dn=entry.dn,
        number=_number(entry, amap, "gidNumber"),
    )
