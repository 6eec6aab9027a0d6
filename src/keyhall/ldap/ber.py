"""X.690 §8: Basic Encoding Rules, restricted as RFC 4511 §5.1 restricts them for LDAP.

Decoding works on a ``bytes`` object with explicit ``pos``/``end`` offsets and returns the
new offset, so a whole PDU is parsed without copying anything but the leaf values. Only
single-byte tags and the definite length form are accepted (RFC 4511 §5.1: "Only the
definite form of length encoding is used"); strings must be primitive, which follows from
comparing whole tag bytes. Every malformation raises :class:`ProtocolError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from keyhall.ldap.result_codes import ProtocolError

BOOLEAN = 0x01
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
ENUMERATED = 0x0A
SEQUENCE = 0x30
SET = 0x31

CONSTRUCTED = 0x20
CLASS_APPLICATION = 0x40
CLASS_CONTEXT = 0x80

# Lengths of up to four octets (4 GiB) are plenty; Active Directory always sends 0x84 forms.
MAX_LENGTH_OCTETS = 4


def application(number: int, *, constructed: bool) -> int:
    """The tag byte of ``[APPLICATION number]``."""
    return CLASS_APPLICATION | (CONSTRUCTED if constructed else 0) | number


def context(number: int, *, constructed: bool = False) -> int:
    """The tag byte of a context-specific ``[number]``."""
    return CLASS_CONTEXT | (CONSTRUCTED if constructed else 0) | number


def is_constructed(tag: int) -> bool:
    return bool(tag & CONSTRUCTED)


# --- decoding --------------------------------------------------------------------------


def read_header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """Read one TLV header at ``pos``: return ``(tag, content_start, content_end)``.

    The content must fit before ``end``.
    """
    if end - pos < 2:
        raise ProtocolError("truncated BER element")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise ProtocolError("multi-byte BER tags are not used by LDAP")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        octets = length & 0x7F
        if octets == 0:
            raise ProtocolError("indefinite BER length (RFC 4511 §5.1)")
        if octets > MAX_LENGTH_OCTETS:
            raise ProtocolError("BER length field too long")
        if pos + octets > end:
            raise ProtocolError("truncated BER length")
        length = int.from_bytes(data[pos : pos + octets], "big")
        pos += octets
    stop = pos + length
    if stop > end:
        raise ProtocolError("BER element overruns its container")
    return tag, pos, stop


def read_expected(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    """Read a header that must carry ``tag``: return ``(content_start, content_end)``."""
    found, start, stop = read_header(data, pos, end)
    if found != tag:
        raise ProtocolError(f"expected BER tag 0x{tag:02x}, found 0x{found:02x}")
    return start, stop


def read_octets(data: bytes, pos: int, end: int, tag: int = OCTET_STRING) -> tuple[bytes, int]:
    """Read a primitive string: return ``(value, next_pos)``."""
    start, stop = read_expected(data, pos, end, tag)
    return data[start:stop], stop


def read_string(data: bytes, pos: int, end: int, tag: int = OCTET_STRING) -> tuple[str, int]:
    """Read an ``LDAPString`` (RFC 4511 §4.1.2: UTF-8): return ``(value, next_pos)``."""
    start, stop = read_expected(data, pos, end, tag)
    return decode_utf8(data[start:stop]), stop


def decode_utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("LDAPString is not valid UTF-8") from None


def decode_integer(content: bytes) -> int:
    """X.690 §8.3: two's complement, at least one octet."""
    if not content:
        raise ProtocolError("empty BER INTEGER")
    return int.from_bytes(content, "big", signed=True)


def read_integer(data: bytes, pos: int, end: int, tag: int = INTEGER) -> tuple[int, int]:
    if pos + 3 <= end and data[pos] == tag and data[pos + 1] == 1:
        # One content octet: message IDs, scopes, limits, versions. Most integers LDAP sends.
        value = data[pos + 2]
        return (value - 0x100 if value & 0x80 else value), pos + 3
    start, stop = read_expected(data, pos, end, tag)
    if stop - start > 8:
        raise ProtocolError("BER INTEGER too large for LDAP")
    return decode_integer(data[start:stop]), stop


def read_boolean(data: bytes, pos: int, end: int, tag: int = BOOLEAN) -> tuple[bool, int]:
    """X.690 §8.2: one octet, any non-zero value is TRUE."""
    if pos + 3 <= end and data[pos] == tag and data[pos + 1] == 1:
        return data[pos + 2] != 0, pos + 3
    start, stop = read_expected(data, pos, end, tag)
    if stop - start != 1:
        raise ProtocolError("BER BOOLEAN must be one octet")
    return data[start] != 0, stop


def read_null(data: bytes, pos: int, end: int, tag: int = NULL) -> int:
    start, stop = read_expected(data, pos, end, tag)
    if stop != start:
        raise ProtocolError("BER NULL must be empty")
    return stop


def expect_end(pos: int, end: int) -> None:
    """Reject trailing bytes inside a SEQUENCE whose last element has been read."""
    if pos != end:
        raise ProtocolError("unexpected trailing data in BER SEQUENCE")


@dataclass(frozen=True, slots=True)
class Element:
    """A generic TLV: ``value`` is the raw content, or the children if constructed."""

    tag: int
    value: bytes | tuple[Element, ...]


def decode_element(data: bytes, *, max_depth: int) -> tuple[Element, int]:
    """Decode one TLV tree from the start of ``data`` (for tests and diagnostics)."""
    if not 0 <= max_depth <= 200:  # one Python frame per level
        raise ValueError("max_depth must be between 0 and 200")
    tag, start, stop = read_header(data, 0, len(data))
    return _element(data, tag, start, stop, max_depth), stop


def _element(data: bytes, tag: int, start: int, stop: int, depth: int) -> Element:
    if not tag & CONSTRUCTED:
        return Element(tag, data[start:stop])
    if depth <= 0:
        raise ProtocolError("BER nesting too deep")
    children = []
    pos = start
    while pos < stop:
        child_tag, child_start, pos = read_header(data, pos, stop)
        children.append(_element(data, child_tag, child_start, pos, depth - 1))
    return Element(tag, tuple(children))


# --- encoding --------------------------------------------------------------------------


def encode_length(length: int) -> bytes:
    """X.690 §8.1.3: short form below 128, else the shortest long form."""
    if length < 0x80:
        return bytes((length,))
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def encode_tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes((tag, length)) + content
    if length < 0x100:
        return bytes((tag, 0x81, length)) + content
    return bytes((tag,)) + encode_length(length) + content


def encode_sequence(tag: int, *parts: bytes) -> bytes:
    return encode_tlv(tag, b"".join(parts))


def encode_integer(value: int, tag: int = INTEGER) -> bytes:
    """X.690 §8.3: the minimal two's complement encoding."""
    if 0 <= value < 0x80:
        return bytes((tag, 1, value))
    size = ((value if value >= 0 else ~value).bit_length() + 8) // 8
    return encode_tlv(tag, value.to_bytes(size, "big", signed=True))


def encode_enumerated(value: int, tag: int = ENUMERATED) -> bytes:
    return encode_integer(value, tag)


def encode_boolean(value: bool, tag: int = BOOLEAN) -> bytes:
    # X.690 §11.1 (DER, which LDAP servers conventionally follow): TRUE is 0xFF.
    return bytes((tag, 1, 0xFF if value else 0x00))


def encode_null(tag: int = NULL) -> bytes:
    return bytes((tag, 0))


def encode_octets(value: bytes, tag: int = OCTET_STRING) -> bytes:
    return encode_tlv(tag, value)


def encode_string(value: str, tag: int = OCTET_STRING) -> bytes:
    return encode_tlv(tag, value.encode("utf-8"))


def encode_element(element: Element) -> bytes:
    if isinstance(element.value, bytes):
        return encode_tlv(element.tag, element.value)
    return encode_tlv(element.tag, b"".join(encode_element(child) for child in element.value))
