"""RFC 4514: distinguished names as strings, parsed into tuples of RDNs and formatted back.

A DN is a tuple of RDNs, leftmost (most specific) first; an RDN is a tuple of
``(attribute type, value)`` pairs, more than one for a multi-valued RDN (``cn=a+uid=b``).
The parser accepts RFC 4514 strictly except that unescaped spaces around types, values and
separators are ignored, as RFC 4514 §3 permits and as hand-typed DNs need.
"""

from __future__ import annotations

import functools
import re
from typing import TypeAlias

from keyhall.ldap.result_codes import LdapError, ResultCode

AVA: TypeAlias = tuple[str, str]
RDN: TypeAlias = tuple[AVA, ...]
DN: TypeAlias = tuple[RDN, ...]

# One attributeTypeAndValue and the separator after it. The value is either a hexstring
# or a run of characters RFC 4514 §3 allows unescaped, interleaved with escape pairs.
_AVA = re.compile(
    r" *(?P<type>[A-Za-z][A-Za-z0-9-]*+|[0-9]++(?:\.[0-9]++)*+) *="
    r" *(?:#(?P<hex>(?:[0-9A-Fa-f]{2})++)"
    r"|(?P<value>(?:[^\\\"+,;<>\x00]|\\(?:[0-9A-Fa-f]{2}|[ \"#+,;<=>\\]))*+))"
    r" *(?P<sep>[,+]|\Z)"
)
_PAIR = re.compile(r"\\(?:([0-9A-Fa-f]{2})|(.))", re.DOTALL)
# X.690 universal string types a '#' value may carry (RFC 4514 §2.4 / §3).
_BER_STRING_TAGS = frozenset({0x04, 0x0C, 0x13, 0x14, 0x16, 0x1A})
_ESCAPES = str.maketrans(
    {c: "\\" + c for c in '\\"+,;<>'} | {"\0": "\\00"}  # RFC 4514 §2.4
)


# Clients send the same few DNs over and over (search bases, bind DNs, `member=` values):
# parsing is most of what a lookup by DN costs, so recent answers are kept. Errors aren't, and
# long texts aren't either, so the cache stays small (a few MB) whatever clients send.
_CACHED_DNS = 1024
_CACHEABLE_LENGTH = 256


def _invalid(text: str, why: str) -> LdapError:
    return LdapError(ResultCode.INVALID_DN_SYNTAX, f"invalid DN {text!r}: {why}")


def parse_dn(text: str) -> DN:
    """Parse an RFC 4514 string; raise ``LdapError(INVALID_DN_SYNTAX)`` if malformed."""
    if len(text) <= _CACHEABLE_LENGTH:
        return _parse_dn_cached(text)
    return _parse_dn(text)


def _parse_dn(text: str) -> DN:
    if not text.strip(" "):
        return ()
    rdns: list[RDN] = []
    avas: list[AVA] = []
    pos = 0
    while True:
        match = _AVA.match(text, pos)
        if match is None:
            raise _invalid(text, f"bad attribute type or value at offset {pos}")
        avas.append((match["type"], _value(text, match)))
        pos = match.end()
        if match["sep"] != "+":
            rdns.append(tuple(avas))
            avas = []
        if not match["sep"]:
            return tuple(rdns)


def _value(text: str, match: re.Match[str]) -> str:
    if match["hex"] is not None:
        return _ber_string(text, bytes.fromhex(match["hex"]))
    raw: str = match["value"]
    # The regex kept unescaped trailing spaces in the value; drop them but keep an escaped one.
    stripped = raw.rstrip(" ")
    if stripped != raw and (len(stripped) - len(stripped.rstrip("\\"))) % 2:
        stripped += " "
    if "\\" not in stripped:
        return stripped
    out = bytearray()
    pos = 0
    for pair in _PAIR.finditer(stripped):
        out += stripped[pos : pair.start()].encode("utf-8")
        hex_pair, char = pair.groups()
        out += bytes.fromhex(hex_pair) if hex_pair else char.encode("utf-8")
        pos = pair.end()
    out += stripped[pos:].encode("utf-8")
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid(text, "escaped value is not UTF-8") from None


def _ber_string(text: str, raw: bytes) -> str:
    # RFC 4514 §2.4: '#' + hex of the value's BER encoding; only short string types are used.
    if len(raw) < 2 or raw[0] not in _BER_STRING_TAGS or raw[1] != len(raw) - 2:
        raise _invalid(text, "'#' value is not a BER-encoded string")
    try:
        return raw[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid(text, "'#' value is not UTF-8") from None


def escape_dn_value(value: str) -> str:
    """RFC 4514 §2.4: escape specials, a leading ``#`` or space, and a trailing space."""
    escaped = value.translate(_ESCAPES)
    if value.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    if escaped.startswith((" ", "#")):
        escaped = "\\" + escaped
    return escaped


def format_rdn(rdn: RDN) -> str:
    return "+".join(f"{attribute}={escape_dn_value(value)}" for attribute, value in rdn)


def format_dn(dn: DN) -> str:
    return ",".join(map(format_rdn, dn))


def normalize_rdn(rdn: RDN) -> RDN:
    # caseIgnoreMatch (RFC 4518 §2.6.1): case and insignificant spaces do not count.
    return tuple(
        sorted((attribute.lower(), " ".join(value.lower().split())) for attribute, value in rdn)
    )


def normalize(dn: DN) -> DN:
    return tuple(map(normalize_rdn, dn))


def parse_normalized(text: str) -> DN:
    """``parse_dn`` then ``normalize``: the form to compare and index DNs by."""
    if len(text) <= _CACHEABLE_LENGTH:
        return _parse_normalized(text)
    return normalize(parse_dn(text))


def normalize_dn(text: str) -> str:
    """One canonical string per DN: lowercase, trimmed, AVAs sorted, ``,`` without spaces."""
    if _CANONICAL.fullmatch(text):
        return text  # what clients send back is what we served: already in this form
    if len(text) <= _CACHEABLE_LENGTH:
        return _normalize_dn(text)
    return format_dn(normalize(parse_dn(text)))


# DNs that parsing and normalising would return unchanged: one AVA per RDN, a lowercase type
# and a lowercase value of characters that are never escaped or folded.
_CANONICAL = re.compile(r"[a-z][a-z0-9-]*=[a-z0-9._@-]+(?:,[a-z][a-z0-9-]*=[a-z0-9._@-]+)*")


@functools.lru_cache(maxsize=_CACHED_DNS)
def _parse_dn_cached(text: str) -> DN:
    return _parse_dn(text)


@functools.lru_cache(maxsize=_CACHED_DNS)
def _parse_normalized(text: str) -> DN:
    return normalize(parse_dn(text))


@functools.lru_cache(maxsize=_CACHED_DNS)
def _normalize_dn(text: str) -> str:
    return format_dn(_parse_normalized(text))


def parent(dn: DN) -> DN:
    """The DN one level up; the root DSE ``()`` is its own parent."""
    return dn[1:]


def is_descendant(dn: DN, base: DN) -> bool:
    """True if ``dn`` is strictly below ``base`` (both normalized)."""
    return len(dn) > len(base) and dn[len(dn) - len(base) :] == base


def is_within(dn: DN, base: DN) -> bool:
    """True if ``dn`` is ``base`` or below it: the RFC 4511 subtree scope."""
    return len(dn) >= len(base) and dn[len(dn) - len(base) :] == base
