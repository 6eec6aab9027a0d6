"""RFC 4511 §4.1-4.5: just the LDAPv3 client PDUs the LDAP benchmark sends and reads.

The load generator must spend as little CPU as possible (it shares two cores with the server
under test), so requests are encoded once up front and only the message ID is framed per
send; responses are read only as far as the framing, the message ID, the operation tag, the
result code and an entry's DN. It is deliberately independent of Keyhall's own codec: a
benchmark client that shared the server's decoder would also share its bugs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# RFC 4511 §4.2-4.5 protocolOp tags ([APPLICATION n], constructed unless noted).
BIND_REQUEST = 0x60
BIND_RESPONSE = 0x61
UNBIND_REQUEST = 0x42  # primitive NULL
SEARCH_REQUEST = 0x63
SEARCH_RESULT_ENTRY = 0x64
SEARCH_RESULT_DONE = 0x65
SEARCH_RESULT_REFERENCE = 0x73

SCOPE_BASE, SCOPE_ONE, SCOPE_SUB = 0, 1, 2


def _length(n: int) -> bytes:
    """X.690 §8.1.3 definite length, short form below 128."""
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, value: bytes) -> bytes:
    return bytes((tag,)) + _length(len(value)) + value


def integer(value: int, tag: int = 0x02) -> bytes:
    """X.690 §8.3: two's complement, minimal octets (the values here are never negative)."""
    return tlv(tag, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def octets(value: str | bytes, tag: int = 0x04) -> bytes:
    return tlv(tag, value.encode() if isinstance(value, str) else value)


# RFC 4511 §4.5.1.7 filters, as encoded bytes.
def equal(attribute: str, value: str) -> bytes:
    return tlv(0xA3, octets(attribute) + octets(value))


def any_of(*filters: bytes) -> bytes:
    return tlv(0xA1, b"".join(filters))


def all_of(*filters: bytes) -> bytes:
    return tlv(0xA0, b"".join(filters))


def bind_op(dn: str, password: str) -> bytes:
    """RFC 4511 §4.2: a version 3 simple bind."""
    return tlv(BIND_REQUEST, integer(3) + octets(dn) + octets(password, 0x80))


UNBIND_OP = bytes((UNBIND_REQUEST, 0))


def search_op(
    base: str, scope: int, filter_bytes: bytes, attributes: Sequence[str], size_limit: int = 0
) -> bytes:
    """RFC 4511 §4.5.1: never deref aliases, no time limit, values wanted (typesOnly FALSE)."""
    body = (
        octets(base)
        + integer(scope, 0x0A)
        + integer(0, 0x0A)
        + integer(size_limit)
        + integer(0)
        + tlv(0x01, b"\x00")
        + filter_bytes
        + tlv(0x30, b"".join(octets(a) for a in attributes))
    )
    return tlv(SEARCH_REQUEST, body)


def message(message_id: int, op: bytes) -> bytes:
    """RFC 4511 §4.1.1 LDAPMessage without controls around a pre-encoded protocolOp."""
    return tlv(0x30, integer(message_id) + op)


@dataclass(frozen=True, slots=True)
class Response:
    message_id: int
    op: int
    result_code: int
    """For BindResponse and SearchResultDone; -1 for other operations."""
    dn: bytes
    """For SearchResultEntry: the entry's name; empty otherwise."""


def _header(buf: bytes | bytearray, pos: int) -> tuple[int, int, int]:
    """(tag, content length, content start) of the TLV at `pos`; length -1 if incomplete."""
    end = len(buf)
    if pos + 2 > end:
        return 0, -1, pos
    tag = buf[pos]
    first = buf[pos + 1]
    if first < 0x80:
        return tag, first, pos + 2
    count = first & 0x7F
    if pos + 2 + count > end:
        return tag, -1, pos
    return tag, int.from_bytes(buf[pos + 2 : pos + 2 + count], "big"), pos + 2 + count


def read_responses(buf: bytearray) -> tuple[list[Response], int]:
    """The complete LDAPMessages at the front of `buf`, and how many bytes they used."""
    out: list[Response] = []
    pos = 0
    while True:
        tag, length, start = _header(buf, pos)
        if length < 0 or start + length > len(buf):
            return out, pos
        if tag != 0x30:
            raise ValueError(f"not an LDAPMessage (tag {tag:#x})")
        _, id_len, id_start = _header(buf, start)
        message_id = int.from_bytes(buf[id_start : id_start + id_len], "big")
        op_tag, _, op_start = _header(buf, id_start + id_len)
        result_code = -1
        dn = b""
        if op_tag in (BIND_RESPONSE, SEARCH_RESULT_DONE):
            _, code_len, code_start = _header(buf, op_start)
            result_code = int.from_bytes(buf[code_start : code_start + code_len], "big")
        elif op_tag == SEARCH_RESULT_ENTRY:
            _, dn_len, dn_start = _header(buf, op_start)
            dn = bytes(buf[dn_start : dn_start + dn_len])
        out.append(Response(message_id, op_tag, result_code, dn))
        pos = start + length
