"""RFC 4511 §4.5.1.7 and RFC 4515: search filters as an AST, in BER and in string form.

Attribute descriptions are kept exactly as the client sent them; deciding what matches is the
directory's job. Assertion values are ``bytes`` because the protocol carries octet strings
and RFC 4515 ``\\XX`` escapes can spell any octet. ``(&)`` and ``(|)`` are accepted as the
absolute true and false filters of RFC 4526.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from keyhall.ldap import ber
from keyhall.ldap.result_codes import LdapError, ProtocolError, ResultCode


@dataclass(frozen=True, slots=True)
class And:
    filters: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Or:
    filters: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Not:
    filter: Filter


@dataclass(frozen=True, slots=True)
class EqualityMatch:
    attribute: str
    value: bytes


@dataclass(frozen=True, slots=True)
class Substrings:
    """RFC 4511 §4.5.1.7.2: at least one of ``initial``, ``any``, ``final``; none empty."""

    attribute: str
    initial: bytes | None = None
    any: tuple[bytes, ...] = ()
    final: bytes | None = None


@dataclass(frozen=True, slots=True)
class GreaterOrEqual:
    attribute: str
    value: bytes


@dataclass(frozen=True, slots=True)
class LessOrEqual:
    attribute: str
    value: bytes


@dataclass(frozen=True, slots=True)
class Present:
    attribute: str


@dataclass(frozen=True, slots=True)
class ApproxMatch:
    attribute: str
    value: bytes


@dataclass(frozen=True, slots=True)
class ExtensibleMatch:
    """RFC 4511 §4.5.1.7.7: ``attribute`` is required when ``matching_rule`` is absent."""

    matching_rule: str | None
    attribute: str | None
    value: bytes
    dn_attributes: bool = False


Filter: TypeAlias = (
    And
    | Or
    | Not
    | EqualityMatch
    | Substrings
    | GreaterOrEqual
    | LessOrEqual
    | Present
    | ApproxMatch
    | ExtensibleMatch
)
AttributeValueAssertion: TypeAlias = EqualityMatch | GreaterOrEqual | LessOrEqual | ApproxMatch

AND, OR, NOT = 0xA0, 0xA1, 0xA2
EQUALITY, SUBSTRINGS, GREATER_OR_EQUAL, LESS_OR_EQUAL = 0xA3, 0xA4, 0xA5, 0xA6
PRESENT, APPROX, EXTENSIBLE = 0x87, 0xA8, 0xA9
INITIAL, ANY, FINAL = 0x80, 0x81, 0x82
RULE, TYPE, MATCH_VALUE, DN_ATTRIBUTES = 0x81, 0x82, 0x83, 0x84

# Decoding and parsing recurse once per And/Or/Not level (three frames in BER); this bound
# keeps any permitted ``max_depth`` well inside Python's default recursion limit.
DEPTH_LIMIT = 100


def check_depth(max_depth: int) -> None:
    """Reject a configured ``max_depth`` the recursive decoders could not honour."""
    if not 0 <= max_depth <= DEPTH_LIMIT:
        raise ValueError(f"max_depth must be between 0 and {DEPTH_LIMIT}")


# --- BER -------------------------------------------------------------------------------

_Decoder = Callable[[bytes, int, int, int], Filter]


def decode_filter(data: bytes, pos: int, end: int, max_depth: int) -> tuple[Filter, int]:
    """Decode the Filter at ``pos``; And/Or/Not may nest at most ``max_depth`` levels."""
    tag, start, stop = ber.read_header(data, pos, end)
    decoder = _DECODERS.get(tag)
    if decoder is None:
        raise ProtocolError(f"unknown filter choice 0x{tag:02x}")
    return decoder(data, start, stop, max_depth), stop


def _decode_set(data: bytes, pos: int, end: int, depth: int) -> tuple[Filter, ...]:
    if depth <= 0:
        raise ProtocolError("search filter nested too deeply")
    filters = []
    while pos < end:
        item, pos = decode_filter(data, pos, end, depth - 1)
        filters.append(item)
    return tuple(filters)


def _decode_and(data: bytes, pos: int, end: int, depth: int) -> Filter:
    return And(_decode_set(data, pos, end, depth))


def _decode_or(data: bytes, pos: int, end: int, depth: int) -> Filter:
    return Or(_decode_set(data, pos, end, depth))


def _decode_not(data: bytes, pos: int, end: int, depth: int) -> Filter:
    if depth <= 0:
        raise ProtocolError("search filter nested too deeply")
    inner, pos = decode_filter(data, pos, end, depth - 1)
    ber.expect_end(pos, end)
    return Not(inner)


def _ava_decoder(cls: type[AttributeValueAssertion]) -> _Decoder:
    def decode(data: bytes, pos: int, end: int, depth: int) -> Filter:
        attribute, pos = ber.read_string(data, pos, end)
        value, pos = ber.read_octets(data, pos, end)
        ber.expect_end(pos, end)
        return cls(attribute, value)

    return decode


def _decode_present(data: bytes, pos: int, end: int, depth: int) -> Filter:
    return Present(ber.decode_utf8(data[pos:end]))


def _decode_substrings(data: bytes, pos: int, end: int, depth: int) -> Filter:
    attribute, pos = ber.read_string(data, pos, end)
    start, stop = ber.read_expected(data, pos, end, ber.SEQUENCE)
    ber.expect_end(stop, end)
    parts: list[tuple[int, bytes]] = []
    while start < stop:
        tag, value_start, start = ber.read_header(data, start, stop)
        if tag not in (INITIAL, ANY, FINAL) or value_start == start:
            raise ProtocolError("bad substring component")
        parts.append((tag, data[value_start:start]))
    initial = parts.pop(0)[1] if parts and parts[0][0] == INITIAL else None
    final = parts.pop()[1] if parts and parts[-1][0] == FINAL else None
    # RFC 4511 §4.5.1.7.2: at most one initial (first) and one final (last).
    if any(tag != ANY for tag, _ in parts) or (initial is None and final is None and not parts):
        raise ProtocolError("bad substring filter")
    return Substrings(attribute, initial, tuple(value for _, value in parts), final)


def _decode_extensible(data: bytes, pos: int, end: int, depth: int) -> Filter:
    rule = attribute = None
    if pos < end and data[pos] == RULE:
        rule, pos = ber.read_string(data, pos, end, RULE)
    if pos < end and data[pos] == TYPE:
        attribute, pos = ber.read_string(data, pos, end, TYPE)
    value, pos = ber.read_octets(data, pos, end, MATCH_VALUE)
    dn_attributes = False
    if pos < end:
        dn_attributes, pos = ber.read_boolean(data, pos, end, DN_ATTRIBUTES)
    ber.expect_end(pos, end)
    if rule is None and attribute is None:
        raise ProtocolError("extensible match needs a matching rule or a type")
    return ExtensibleMatch(rule, attribute, value, dn_attributes)


_DECODERS: dict[int, _Decoder] = {
    AND: _decode_and,
    OR: _decode_or,
    NOT: _decode_not,
    EQUALITY: _ava_decoder(EqualityMatch),
    SUBSTRINGS: _decode_substrings,
    GREATER_OR_EQUAL: _ava_decoder(GreaterOrEqual),
    LESS_OR_EQUAL: _ava_decoder(LessOrEqual),
    PRESENT: _decode_present,
    APPROX: _ava_decoder(ApproxMatch),
    EXTENSIBLE: _decode_extensible,
}

_AVA_TAGS: dict[type[Filter], int] = {
    EqualityMatch: EQUALITY,
    GreaterOrEqual: GREATER_OR_EQUAL,
    LessOrEqual: LESS_OR_EQUAL,
    ApproxMatch: APPROX,
}


def encode_filter(item: Filter) -> bytes:
    if isinstance(item, EqualityMatch | GreaterOrEqual | LessOrEqual | ApproxMatch):
        return ber.encode_sequence(
            _AVA_TAGS[type(item)], ber.encode_string(item.attribute), ber.encode_octets(item.value)
        )
    if isinstance(item, And | Or):
        return ber.encode_sequence(
            AND if isinstance(item, And) else OR, *map(encode_filter, item.filters)
        )
    if isinstance(item, Not):
        return ber.encode_tlv(NOT, encode_filter(item.filter))
    if isinstance(item, Present):
        return ber.encode_string(item.attribute, PRESENT)
    if isinstance(item, Substrings):
        parts = [ber.encode_octets(value, ANY) for value in item.any]
        if item.initial is not None:
            parts.insert(0, ber.encode_octets(item.initial, INITIAL))
        if item.final is not None:
            parts.append(ber.encode_octets(item.final, FINAL))
        return ber.encode_sequence(
            SUBSTRINGS, ber.encode_string(item.attribute), ber.encode_sequence(ber.SEQUENCE, *parts)
        )
    parts = [] if item.matching_rule is None else [ber.encode_string(item.matching_rule, RULE)]
    if item.attribute is not None:
        parts.append(ber.encode_string(item.attribute, TYPE))
    parts.append(ber.encode_octets(item.value, MATCH_VALUE))
    if item.dn_attributes:
        parts.append(ber.encode_boolean(True, DN_ATTRIBUTES))
    return ber.encode_sequence(EXTENSIBLE, *parts)


# --- RFC 4515 strings ------------------------------------------------------------------


class FilterSyntaxError(LdapError):
    """A filter string does not follow RFC 4515."""

    def __init__(self, message: str) -> None:
        super().__init__(ResultCode.PROTOCOL_ERROR, message)


# RFC 4515 §3 / RFC 4512 §2.5: attributetype *(SEMI option); descr or numericoid.
_OID = r"(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)"
_ATTRIBUTE = re.compile(_OID + r"(?:;[A-Za-z0-9-]+)*")
_MATCHING_RULE = re.compile(_OID)
_ESCAPE = re.compile(r"\\(?![0-9A-Fa-f]{2})")
_SIMPLE_OPERATORS: dict[str, type[AttributeValueAssertion]] = {
    "~": ApproxMatch,
    ">": GreaterOrEqual,
    "<": LessOrEqual,
}
_OPERATOR_STRINGS: dict[type[Filter], str] = {
    EqualityMatch: "=",
    ApproxMatch: "~=",
    GreaterOrEqual: ">=",
    LessOrEqual: "<=",
}
# RFC 4515 §3: these octets must always be escaped in an assertion value.
_VALUE_ESCAPES = str.maketrans({"*": "\\2a", "(": "\\28", ")": "\\29", "\\": "\\5c", "\0": "\\00"})


def parse_filter(text: str, *, max_depth: int = 64) -> Filter:
    """Parse an RFC 4515 filter string; a bare item such as ``uid=alice`` is accepted too."""
    check_depth(max_depth)
    text = text.strip()
    if not text.startswith("("):
        text = f"({text})"
    item, pos = _parse(text, 0, max_depth)
    if pos != len(text):
        raise FilterSyntaxError(f"trailing characters after filter at offset {pos}")
    return item


def _parse(text: str, pos: int, depth: int) -> tuple[Filter, int]:
    if not text.startswith("(", pos):
        raise FilterSyntaxError(f"expected '(' at offset {pos}")
    kind = text[pos + 1 : pos + 2]
    if kind in ("&", "|", "!"):
        if depth <= 0:
            raise FilterSyntaxError("filter nested too deeply")
        filters = []
        pos += 2
        while text.startswith("(", pos):
            item, pos = _parse(text, pos, depth - 1)
            filters.append(item)
        if not text.startswith(")", pos):
            raise FilterSyntaxError(f"expected ')' at offset {pos}")
        if kind == "&":
            return And(tuple(filters)), pos + 1
        if kind == "|":
            return Or(tuple(filters)), pos + 1
        if len(filters) != 1:
            raise FilterSyntaxError("'!' takes exactly one filter")
        return Not(filters[0]), pos + 1
    end = text.find(")", pos)
    if end < 0:
        raise FilterSyntaxError("unbalanced parentheses")
    return _parse_item(text[pos + 1 : end]), end + 1


def _parse_item(item: str) -> Filter:
    equals = item.find("=")
    if equals <= 0:
        raise FilterSyntaxError(f"no operator in filter item {item!r}")
    value = item[equals + 1 :]
    if "(" in value or "\0" in value:
        raise FilterSyntaxError(f"unescaped character in value of {item!r}")
    operator = item[equals - 1]
    if operator == ":":
        return _parse_extensible(item[: equals - 1], value)
    if operator in _SIMPLE_OPERATORS:
        return _SIMPLE_OPERATORS[operator](_attribute(item[: equals - 1]), _unescape(value))
    attribute = _attribute(item[:equals])
    if value == "*":
        return Present(attribute)
    if "*" not in value:
        return EqualityMatch(attribute, _unescape(value))
    initial, *middle, final = value.split("*")
    # RFC 4515 allows empty pieces between asterisks; they constrain nothing, so drop them.
    anys = tuple(_unescape(piece) for piece in middle if piece)
    if not (initial or anys or final):
        raise FilterSyntaxError(f"substring filter {item!r} has no substrings")
    return Substrings(
        attribute,
        _unescape(initial) if initial else None,
        anys,
        _unescape(final) if final else None,
    )


def _parse_extensible(lhs: str, value: str) -> Filter:
    # RFC 4515 §3: attr [":dn"] [":" matchingrule] ":=" value, or [":dn"] ":" rule ":=" value.
    attribute, *options = lhs.split(":")
    dn_attributes = bool(options) and options[0].lower() == "dn"
    if dn_attributes:
        options.pop(0)
    if len(options) > 1 or (not attribute and not options):
        raise FilterSyntaxError(f"malformed extensible match {lhs!r}")
    rule = options[0] if options else None
    if rule is not None and not _MATCHING_RULE.fullmatch(rule):
        raise FilterSyntaxError(f"bad matching rule {rule!r}")
    return ExtensibleMatch(
        rule, _attribute(attribute) if attribute else None, _unescape(value), dn_attributes
    )


def _attribute(text: str) -> str:
    if not _ATTRIBUTE.fullmatch(text):
        raise FilterSyntaxError(f"bad attribute description {text!r}")
    return text


def _unescape(value: str) -> bytes:
    if "*" in value:
        raise FilterSyntaxError("unescaped '*' in assertion value")
    if "\\" not in value:
        return value.encode("utf-8")
    if _ESCAPE.search(value):
        raise FilterSyntaxError(f"'\\' must be followed by two hex digits in {value!r}")
    head, *rest = value.split("\\")
    return head.encode("utf-8") + b"".join(
        bytes.fromhex(piece[:2]) + piece[2:].encode("utf-8") for piece in rest
    )


def escape_filter_value(value: str) -> str:
    """RFC 4515 §3: escape ``*``, ``(``, ``)``, ``\\`` and NUL as ``\\XX``."""
    return value.translate(_VALUE_ESCAPES)


def _escape_bytes(value: bytes) -> str:
    try:
        return value.decode("utf-8").translate(_VALUE_ESCAPES)
    except UnicodeDecodeError:
        return "".join(f"\\{octet:02x}" for octet in value)


def filter_to_string(item: Filter) -> str:
    """Render ``item`` in RFC 4515 form; values that are not UTF-8 are hex-escaped."""
    if isinstance(item, EqualityMatch | GreaterOrEqual | LessOrEqual | ApproxMatch):
        operator = _OPERATOR_STRINGS[type(item)]
        return f"({item.attribute}{operator}{_escape_bytes(item.value)})"
    if isinstance(item, And | Or):
        operator = "&" if isinstance(item, And) else "|"
        return f"({operator}{''.join(map(filter_to_string, item.filters))})"
    if isinstance(item, Not):
        return f"(!{filter_to_string(item.filter)})"
    if isinstance(item, Present):
        return f"({item.attribute}=*)"
    if isinstance(item, Substrings):
        pieces = [
            _escape_bytes(item.initial or b""),
            *map(_escape_bytes, item.any),
            _escape_bytes(item.final or b""),
        ]
        return f"({item.attribute}={'*'.join(pieces)})"
    lhs = item.attribute or ""
    if item.dn_attributes:
        lhs += ":dn"
    if item.matching_rule is not None:
        lhs += ":" + item.matching_rule
    return f"({lhs}:={_escape_bytes(item.value)})"
