"""RFC 4511 §4.5: which entries a search returns and what it returns of each.

Pure functions over a `Dit`: resolving the base, the scope, who may see what, attribute
selection (`*`, `+`, `1.1`, lists, RFC 3673) and the encoded SearchResultEntry bodies, which are
cached per entry and selection because most clients ask the same thing again and again.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterator
from dataclasses import dataclass

from keyhall.ldap import ber, schema
from keyhall.ldap.dn import normalize_dn
from keyhall.ldap.entries import SUBSCHEMA_DN, Dit, Entry, Kind
from keyhall.ldap.filters import Filter
from keyhall.ldap.operations import Scope
from keyhall.ldap.query import matches, narrow
from keyhall.ldap.result_codes import LdapError, ResultCode

SEARCH_RESULT_ENTRY = 0x64
_ENCODED_PER_ENTRY = 4


class Role(enum.Enum):
    ANONYMOUS = "anonymous"
    SERVICE = "service"
    USER = "user"


@dataclass(frozen=True, slots=True)
class Subject:
    """Who a connection is bound as."""

    role: Role
    dn: str = ""
    user_id: str | None = None
    full_read: bool = False


ANONYMOUS = Subject(Role.ANONYMOUS)


def resolve_base(dit: Dit, subject: Subject, text: str) -> Entry:
    """The base entry, or noSuchObject with the nearest existing superior as matchedDN."""
    try:
        dn = normalize_dn(text)
    except LdapError:
        raise LdapError(ResultCode.INVALID_DN_SYNTAX, "invalid base DN") from None
    entry = dit.entry(dn)
    if entry is not None and visible(dit, subject, entry):
        return entry
    if subject.role is Role.ANONYMOUS and entry is not None:
        raise LdapError(ResultCode.INSUFFICIENT_ACCESS_RIGHTS, "bind first")
    raise LdapError(ResultCode.NO_SUCH_OBJECT, "no such entry", _matched(dit, subject, dn))


def _matched(dit: Dit, subject: Subject, dn: str) -> str:
    while dn:
        dn = dn.partition(",")[2]
        entry = dit.by_dn.get(dn)
        if entry is not None and visible(dit, subject, entry):
            return dn
    return ""


def visible(dit: Dit, subject: Subject, entry: Entry) -> bool:
    if entry.kind in (Kind.ROOT_DSE, Kind.SUBSCHEMA) or subject.full_read:
        return True
    if subject.role is not Role.USER:
        return False
    if entry.kind is Kind.CONTAINER:
        return True
    if entry.kind is Kind.USER:
        return entry.owner == subject.user_id
    if entry.kind is Kind.GROUP:
        assert subject.user_id is not None
        return any(g is entry for g in dit.groups_of.get(subject.user_id, ()))
    return False


def in_scope(dn: str, base: str, scope: Scope) -> bool:
    if scope is Scope.BASE:
        return dn == base
    if not base:
        return False  # the root DSE has no subordinates we list (RFC 4512 §5.1)
    if not dn.endswith("," + base):
        return scope is Scope.SUB and dn == base
    if scope is Scope.ONE:
        # Our DNs carry no escaped commas, so one more RDN means no comma in the prefix.
        return "," not in dn[: -len(base) - 1]
    return True


def select(dit: Dit, base: Entry, scope: Scope, filter: Filter) -> Iterator[Entry]:
    """Entries in scope that the filter selects, in tree order."""
    if scope is Scope.BASE:
        if matches(filter, base):
            yield base
        return
    if base.kind in (Kind.ROOT_DSE, Kind.SUBSCHEMA):
        return
    narrowed = narrow(filter, dit)
    if narrowed is None:
        for entry in dit.subtree(base):
            if in_scope(entry.dn, base.dn, scope) and matches(filter, entry):
                yield entry
        return
    pool, exact = narrowed
    for entry in pool:
        if in_scope(entry.dn, base.dn, scope) and (exact or matches(filter, entry)):
            yield entry


@dataclass(frozen=True, slots=True)
class Selection:
    """RFC 4511 §4.5.1.8 attribute selection, with RFC 3673's `+`."""

    user: bool
    operational: bool
    names: frozenset[str]
    key: tuple[str, ...]

    @classmethod
    def parse(cls, requested: tuple[str, ...]) -> Selection:
        # Apps ask for the same attribute list on every search: parse each list once.
        if sum(map(len, requested)) <= _CACHEABLE_SELECTION:
            return _parsed_selection(requested)
        return cls._parse(requested)

    @classmethod
    def _parse(cls, requested: tuple[str, ...]) -> Selection:
        lowered = tuple(a.strip().lower() for a in requested)
        wanted = [a for a in lowered if a not in ("*", "+", "1.1")]
        names = set()
        for name in wanted:
            attr = schema.attribute(name)
            if attr is not None:
                names.add(attr.name)
        # No list, or one with "*", means all user attributes; "1.1" alone means none.
        everything = not lowered or "*" in lowered
        return cls(everything, "+" in lowered, frozenset(names), lowered)

    def picks(self, name: str) -> bool:
        if name in self.names:
            return True
        return self.operational if name.lower() in schema.OPERATIONAL else self.user


_CACHEABLE_SELECTION = 1024


@functools.lru_cache(maxsize=256)
def _parsed_selection(requested: tuple[str, ...]) -> Selection:
    return Selection._parse(requested)


def encoded_entry(entry: Entry, selection: Selection, types_only: bool) -> bytes:
    """The SearchResultEntry protocolOp for `entry` (cached; the message id goes around it)."""
    key = (selection.key, types_only)
    cache = entry.encoded
    found = cache.get(key)
    if found is None:
        if len(cache) >= _ENCODED_PER_ENTRY:
            cache.clear()
        found = _encode(entry, selection, types_only)
        cache[key] = found
    return found


def _encode(entry: Entry, selection: Selection, types_only: bool) -> bytes:
    tlv = ber.encode_tlv
    parts = []
    for name, values in entry.attrs.items():
        if not selection.picks(name):
            continue
        encoded = b"" if types_only else b"".join(tlv(ber.OCTET_STRING, v.encode()) for v in values)
        parts.append(
            tlv(ber.SEQUENCE, tlv(ber.OCTET_STRING, name.encode()) + tlv(ber.SET, encoded))
        )
    body = tlv(ber.OCTET_STRING, entry.dn.encode()) + tlv(ber.SEQUENCE, b"".join(parts))
    return tlv(SEARCH_RESULT_ENTRY, body)


def is_subschema(dn: str) -> bool:
    return dn == SUBSCHEMA_DN
