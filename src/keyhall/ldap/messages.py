"""RFC 4511 §4: LDAPMessage envelopes and protocol operations, decoded from and encoded to BER.

:func:`decode_message` is the sans-IO entry point: give it whatever bytes have arrived and it
returns ``(None, 0)`` until a whole PDU is buffered, then ``(message, bytes_consumed)``.
Anything malformed raises :class:`ProtocolError`; a PDU longer than ``max_size`` raises
:class:`MessageTooLarge` as soon as its header is seen.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from keyhall.ldap import ber
from keyhall.ldap.controls import NOTICE_OF_DISCONNECTION_OID
from keyhall.ldap.filters import check_depth, decode_filter, encode_filter
from keyhall.ldap.operations import (
    MAX_INT,
    AbandonRequest,
    AddRequest,
    AddResponse,
    Attribute,
    BindRequest,
    BindResponse,
    CompareRequest,
    CompareResponse,
    Control,
    DelRequest,
    DelResponse,
    DerefAliases,
    ExtendedRequest,
    ExtendedResponse,
    IntermediateResponse,
    LdapMessage,
    LdapResult,
    Modification,
    ModifyDNRequest,
    ModifyDNResponse,
    ModifyOperation,
    ModifyRequest,
    ModifyResponse,
    ProtocolOp,
    Scope,
    SearchRequest,
    SearchResultDone,
    SearchResultEntry,
    SearchResultReference,
    UnbindRequest,
)
from keyhall.ldap.result_codes import MessageTooLarge, ProtocolError, ResultCode

# The dataclasses live in ``operations``; importing them from here is the public API.
__all__ = [
    "MAX_INT",
    "NOTICE_OF_DISCONNECTION_OID",
    "OP_TAGS",
    "AbandonRequest",
    "AddRequest",
    "AddResponse",
    "Attribute",
    "BindRequest",
    "BindResponse",
    "CompareRequest",
    "CompareResponse",
    "Control",
    "DelRequest",
    "DelResponse",
    "DerefAliases",
    "ExtendedRequest",
    "ExtendedResponse",
    "IntermediateResponse",
    "LdapMessage",
    "LdapResult",
    "MessageTooLarge",
    "Modification",
    "ModifyDNRequest",
    "ModifyDNResponse",
    "ModifyOperation",
    "ModifyRequest",
    "ModifyResponse",
    "ProtocolError",
    "ProtocolOp",
    "Scope",
    "SearchRequest",
    "SearchResultDone",
    "SearchResultEntry",
    "SearchResultReference",
    "UnbindRequest",
    "decode_message",
    "encode_message",
    "encode_search_entry",
    "notice_of_disconnection",
]


def notice_of_disconnection(code: ResultCode, message: str) -> LdapMessage:
    """RFC 4511 §4.4.1: the unsolicited notice sent before closing a broken session."""
    response = ExtendedResponse(code, "", message, response_name=NOTICE_OF_DISCONNECTION_OID)
    return LdapMessage(0, response)


# --- decoding --------------------------------------------------------------------------


def decode_message(
    buf: bytes | bytearray | memoryview, *, max_size: int, max_depth: int
) -> tuple[LdapMessage | None, int]:
    """Decode the first LDAPMessage in ``buf``: ``(message, consumed)`` or ``(None, 0)``.

    ``max_depth`` bounds the nesting of And/Or/Not in a search filter (at most
    ``filters.DEPTH_LIMIT``).
    """
    check_depth(max_depth)
    available = len(buf)
    if available < 2:
        return None, 0
    if buf[0] != ber.SEQUENCE:
        raise ProtocolError("LDAPMessage must start with a SEQUENCE tag")
    length = buf[1]
    header = 2
    if length & 0x80:
        header += length & 0x7F
        if header == 2 or header > 2 + ber.MAX_LENGTH_OCTETS:
            raise ProtocolError("bad LDAPMessage length")
        if available < header:
            return None, 0
        length = int.from_bytes(buf[2:header], "big")
    total = header + length
    if total > max_size:
        raise MessageTooLarge(total, max_size)
    if available < total:
        return None, 0
    data = bytes(buf[:total])
    message_id, pos = ber.read_integer(data, header, total)
    if not 0 <= message_id <= MAX_INT:
        raise ProtocolError("messageID out of range")
    tag, start, pos = ber.read_header(data, pos, total)
    decoder = _DECODERS.get(tag)
    if decoder is None:
        raise ProtocolError(f"unknown protocolOp tag 0x{tag:02x}")
    op = decoder(data, start, pos, max_depth)
    controls: tuple[Control, ...] = ()
    if pos < total:
        start, pos = ber.read_expected(data, pos, total, CONTROLS)
        controls = _decode_controls(data, start, pos)
    ber.expect_end(pos, total)
    return LdapMessage(message_id, op, controls), total


_Decoder = Callable[[bytes, int, int, int], ProtocolOp]
CONTROLS = 0xA0
_SIMPLE, _SASL = 0x80, 0xA3
_NEW_SUPERIOR = 0x80
_REFERRAL, _SASL_CREDS, _RESPONSE_NAME, _RESPONSE_VALUE = 0xA3, 0x87, 0x8A, 0x8B
_NAME, _VALUE = 0x80, 0x81  # ExtendedRequest and IntermediateResponse fields
_RESULT_CODES = {code.value: code for code in ResultCode}


_ENUM_VALUES: dict[tuple[type[Any], int], Any] = {
    (enum, member.value): member for enum in (Scope, DerefAliases) for member in enum
}


def _enum(data: bytes, pos: int, end: int, enum: type[Any]) -> tuple[Any, int]:
    value, pos = ber.read_integer(data, pos, end, ber.ENUMERATED)
    found = _ENUM_VALUES.get((enum, value))  # a dict lookup: Enum(value) costs a lot more
    if found is not None:
        return found, pos
    try:
        return enum(value), pos
    except ValueError:
        raise ProtocolError(f"{value} is not a valid {enum.__name__}") from None


def _limit(data: bytes, pos: int, end: int) -> tuple[int, int]:
    value, pos = ber.read_integer(data, pos, end)
    if not 0 <= value <= MAX_INT:
        raise ProtocolError("limit out of range")
    return value, pos


def _strings(data: bytes, pos: int, end: int) -> tuple[str, ...]:
    items = []
    while pos < end:
        item, pos = ber.read_string(data, pos, end)
        items.append(item)
    return tuple(items)


def _attributes(data: bytes, pos: int, end: int) -> tuple[Attribute, ...]:
    """SEQUENCE OF PartialAttribute, given the content range of the SEQUENCE."""
    attributes = []
    while pos < end:
        start, pos = ber.read_expected(data, pos, end, ber.SEQUENCE)
        attributes.append(_attribute(data, start, pos))
    return tuple(attributes)


def _attribute(data: bytes, pos: int, end: int) -> Attribute:
    name, pos = ber.read_string(data, pos, end)
    start, pos = ber.read_expected(data, pos, end, ber.SET)
    ber.expect_end(pos, end)
    values = []
    while start < pos:
        value, start = ber.read_octets(data, start, pos)
        values.append(value)
    return name, tuple(values)


def _decode_bind(data: bytes, pos: int, end: int, depth: int) -> ProtocolOp:
    version, pos = ber.read_integer(data, pos, end)
    name, pos = ber.read_string(data, pos, end)
    tag, start, pos = ber.read_header(data, pos, end)
    ber.expect_end(pos, end)
    if tag == _SIMPLE:
        return BindRequest(version, name, data[start:pos])
    if tag != _SASL:
        raise ProtocolError(f"unknown bind authentication choice 0x{tag:02x}")
    mechanism, start = ber.read_string(data, start, pos)
    credentials = None
    if start < pos:
        credentials, start = ber.read_octets(data, start, pos)
    ber.expect_end(start, pos)
    return BindRequest(version, name, b"", mechanism, credentials)


def _decode_unbind(data: bytes, pos: int, end: int, depth: int) -> ProtocolOp:
    ber.expect_end(pos, end)
    return UnbindRequest()


def _decode_search(data: bytes, pos: int, end: int, depth: int) -> ProtocolOp:
    base, pos = ber.read_string(data, pos, end)
    scope, pos = _enum(data, pos, end, Scope)
    deref, pos = _enum(data, pos, end, DerefAliases)
    size_limit, pos = _limit(data, pos, end)
    time_limit, pos = _limit(data, pos, end)
    types_only, pos = ber.read_boolean(data, pos, end)
    search_filter, pos = decode_filter(data, pos, end, depth)
    start, pos = ber.read_expected(data, pos, end, ber.SEQUENCE)
    ber.expect_end(pos, end)
    if pos - start <= _CACHEABLE_SELECTION:
        attributes = _selection(data[start:pos])
    else:
        attributes = _strings(data, start, pos)
    return SearchRequest(
        base, scope, deref, size_limit, time_limit, types_only, search_filter, attributes
    )


# An application sends the same attribute list with every search: decode each list once.
_CACHEABLE_SELECTION = 1024


@functools.lru_cache(maxsize=256)
def _selection(encoded: bytes) -> tuple[str, ...]:
    return _strings(encoded, 0, len(encoded))


def _decode_modify(data: bytes, pos: int, end: int, depth: int) -> ProtocolOp:
    dn, pos = ber.read_string(data, pos, end)
    start, pos = ber.read_expected(data, pos, end, ber.SEQUENCE)
    ber.expect_end(pos, end)
    changes = []
    while start < pos:
        change_start, start = ber.read_expected(data, start, pos, ber.SEQUENCE)
        operation, change_start = _enum(data, change_start, start, ModifyOperation)
        attribute_start, change_start = ber.read_expected(data, change_start, start, ber.SEQUENCE)
        ber.expect_end(change_start, start)
        changes.append(Modification(operation, _attribute(data, attribute_start, change_start)))
    return ModifyRequest(dn, tuple(changes))


def _decode_add(data: bytes, pos: int, end: int, depth: int) -> ProtocolOp:
    dn, pos = ber.read_string(data, pos, end)
    start, pos = ber.read_expected(data, pos, end, ber.SEQUENCE)
    ber.expect_end(pos, end)
    return AddRequest(dn, _attributes(data, start, pos))


def _decode_delete(data: bytes, pos: int, end: int, depth: int) -> ProtocolOp:
    return DelRequest(ber.decode_utf8(data[pos:end]))


def _decode_modify_dn(data: bytes, pos: int, end: int, depth: int) -> ProtocolOp:
    dn, pos = ber.read_string(data, pos, end)
    new_rdn, pos = ber.read_string(data, pos, end)
    delete_old_rdn, pos = ber.read_boolean(data, pos, end)
    new_superior = None
    if pos < end:
        new_superior, pos = ber.read_string(data, pos, end, _NEW_SUPERIOR)
    ber.expect_end(pos, end)
    return ModifyDNRequest(dn, new_rdn, delete_old_rdn, new_superior)


def _decode_compare(data: bytes, pos: int, end: int, depth: int) -> ProtocolOp:
    dn, pos = ber.read_string(data, pos, end)
    start, pos = ber.read_expected(data, pos, end, ber.SEQUENCE)
    ber.expect_end(pos, end)
    attribute, start = ber.read_string(data, start, pos)
    value, start = ber.read_octets(data, start, pos)
    ber.expect_end(start, pos)
    return CompareRequest(dn, attribute, value)


def _decode_abandon(data: bytes, pos: int, end: int, depth: int) -> ProtocolOp:
    message_id = ber.decode_integer(data[pos:end])
    if not 0 <= message_id <= MAX_INT:
        raise ProtocolError("abandoned messageID out of range")
    return AbandonRequest(message_id)


def _optional(data: bytes, pos: int, end: int, tag: int) -> tuple[bytes | None, int]:
    if pos < end and data[pos] == tag:
        return ber.read_octets(data, pos, end, tag)
    return None, pos


def _optional_string(data: bytes, pos: int, end: int, tag: int) -> tuple[str | None, int]:
    raw, pos = _optional(data, pos, end, tag)
    return (None if raw is None else ber.decode_utf8(raw)), pos


def _decode_extended(data: bytes, pos: int, end: int, depth: int) -> ProtocolOp:
    oid, pos = ber.read_string(data, pos, end, _NAME)
    value, pos = _optional(data, pos, end, _VALUE)
    ber.expect_end(pos, end)
    return ExtendedRequest(oid, value)


def _decode_intermediate(data: bytes, pos: int, end: int, depth: int) -> ProtocolOp:
    name, pos = _optional_string(data, pos, end, _NAME)
    value, pos = _optional(data, pos, end, _VALUE)
    ber.expect_end(pos, end)
    return IntermediateResponse(name, value)


def _decode_entry(data: bytes, pos: int, end: int, depth: int) -> ProtocolOp:
    dn, pos = ber.read_string(data, pos, end)
    start, pos = ber.read_expected(data, pos, end, ber.SEQUENCE)
    ber.expect_end(pos, end)
    return SearchResultEntry(dn, _attributes(data, start, pos))


def _decode_reference(data: bytes, pos: int, end: int, depth: int) -> ProtocolOp:
    uris = _strings(data, pos, end)
    if not uris:
        raise ProtocolError("empty SearchResultReference")
    return SearchResultReference(uris)


def _result_decoder(cls: type[LdapResult]) -> _Decoder:
    def decode(data: bytes, pos: int, end: int, depth: int) -> ProtocolOp:
        value, pos = ber.read_integer(data, pos, end, ber.ENUMERATED)
        code = _RESULT_CODES.get(value)
        if code is None:
            raise ProtocolError(f"unknown resultCode {value}")
        matched_dn, pos = ber.read_string(data, pos, end)
        message, pos = ber.read_string(data, pos, end)
        referral: tuple[str, ...] = ()
        if pos < end and data[pos] == _REFERRAL:
            start, pos = ber.read_expected(data, pos, end, _REFERRAL)
            referral = _strings(data, start, pos)
        extra: dict[str, Any] = {}
        if cls is BindResponse:
            extra["server_sasl_credentials"], pos = _optional(data, pos, end, _SASL_CREDS)
        elif cls is ExtendedResponse:
            extra["response_name"], pos = _optional_string(data, pos, end, _RESPONSE_NAME)
            extra["response_value"], pos = _optional(data, pos, end, _RESPONSE_VALUE)
        ber.expect_end(pos, end)
        return cls(code, matched_dn, message, referral, **extra)

    return decode


def _decode_controls(data: bytes, pos: int, end: int) -> tuple[Control, ...]:
    controls = []
    while pos < end:
        start, pos = ber.read_expected(data, pos, end, ber.SEQUENCE)
        oid, start = ber.read_string(data, start, pos)
        critical = False
        if start < pos and data[start] == ber.BOOLEAN:
            critical, start = ber.read_boolean(data, start, pos)
        value, start = _optional(data, start, pos, ber.OCTET_STRING)
        ber.expect_end(start, pos)
        controls.append(Control(oid, critical, value))
    return tuple(controls)


# RFC 4511 §4.2-§4.14 and Appendix B: the [APPLICATION n] tag of every protocolOp.
_OPS: dict[int, tuple[type[Any], _Decoder]] = {
    0x60: (BindRequest, _decode_bind),
    0x61: (BindResponse, _result_decoder(BindResponse)),
    0x42: (UnbindRequest, _decode_unbind),
    0x63: (SearchRequest, _decode_search),
    0x64: (SearchResultEntry, _decode_entry),
    0x65: (SearchResultDone, _result_decoder(SearchResultDone)),
    0x73: (SearchResultReference, _decode_reference),
    0x66: (ModifyRequest, _decode_modify),
    0x67: (ModifyResponse, _result_decoder(ModifyResponse)),
    0x68: (AddRequest, _decode_add),
    0x69: (AddResponse, _result_decoder(AddResponse)),
    0x4A: (DelRequest, _decode_delete),
    0x6B: (DelResponse, _result_decoder(DelResponse)),
    0x6C: (ModifyDNRequest, _decode_modify_dn),
    0x6D: (ModifyDNResponse, _result_decoder(ModifyDNResponse)),
    0x6E: (CompareRequest, _decode_compare),
    0x6F: (CompareResponse, _result_decoder(CompareResponse)),
    0x50: (AbandonRequest, _decode_abandon),
    0x77: (ExtendedRequest, _decode_extended),
    0x78: (ExtendedResponse, _result_decoder(ExtendedResponse)),
    0x79: (IntermediateResponse, _decode_intermediate),
}
_DECODERS: dict[int, _Decoder] = {tag: decoder for tag, (_, decoder) in _OPS.items()}
OP_TAGS: dict[type[Any], int] = {cls: tag for tag, (cls, _) in _OPS.items()}


# --- encoding --------------------------------------------------------------------------


def encode_message(message: LdapMessage) -> bytes:
    op = message.op
    if type(op) is SearchResultEntry:
        body = _entry_body(op.dn, op.attributes)
    else:
        body = ber.encode_tlv(OP_TAGS[type(op)], _ENCODERS[type(op)](op))
    if message.controls:
        body += ber.encode_sequence(CONTROLS, *map(_encode_control, message.controls))
    return ber.encode_tlv(ber.SEQUENCE, ber.encode_integer(message.message_id) + body)


def encode_search_entry(
    message_id: int, dn: str, attributes: Iterable[tuple[str, Sequence[bytes]]]
) -> bytes:
    """Fast path for the PDU a server sends most: one SearchResultEntry, no controls."""
    return ber.encode_tlv(
        ber.SEQUENCE, ber.encode_integer(message_id) + _entry_body(dn, attributes)
    )


def _entry_body(dn: str, attributes: Iterable[tuple[str, Sequence[bytes]]]) -> bytes:
    tlv = ber.encode_tlv
    encoded = b"".join(
        [
            tlv(
                ber.SEQUENCE,
                tlv(ber.OCTET_STRING, name.encode())
                + tlv(ber.SET, b"".join([tlv(ber.OCTET_STRING, value) for value in values])),
            )
            for name, values in attributes
        ]
    )
    return tlv(0x64, tlv(ber.OCTET_STRING, dn.encode()) + tlv(ber.SEQUENCE, encoded))


def _encode_control(control: Control) -> bytes:
    parts = [ber.encode_string(control.oid)]
    if control.critical:  # DEFAULT FALSE: omitted when false, as DER requires
        parts.append(ber.encode_boolean(True))
    if control.value is not None:
        parts.append(ber.encode_octets(control.value))
    return ber.encode_sequence(ber.SEQUENCE, *parts)


def _encode_attribute(attribute: Attribute) -> bytes:
    name, values = attribute
    return ber.encode_sequence(
        ber.SEQUENCE,
        ber.encode_string(name),
        ber.encode_sequence(ber.SET, *map(ber.encode_octets, values)),
    )


def _encode_bind(op: BindRequest) -> bytes:
    head = ber.encode_integer(op.version) + ber.encode_string(op.name)
    if op.sasl_mechanism is None:
        return head + ber.encode_octets(op.password, _SIMPLE)
    credentials = b"" if op.sasl_credentials is None else ber.encode_octets(op.sasl_credentials)
    return head + ber.encode_tlv(_SASL, ber.encode_string(op.sasl_mechanism) + credentials)


def _encode_search(op: SearchRequest) -> bytes:
    return b"".join(
        (
            ber.encode_string(op.base),
            ber.encode_enumerated(op.scope),
            ber.encode_enumerated(op.deref),
            ber.encode_integer(op.size_limit),
            ber.encode_integer(op.time_limit),
            ber.encode_boolean(op.types_only),
            encode_filter(op.filter),
            ber.encode_sequence(ber.SEQUENCE, *map(ber.encode_string, op.attributes)),
        )
    )


def _encode_modify(op: ModifyRequest) -> bytes:
    changes = (
        ber.encode_sequence(
            ber.SEQUENCE,
            ber.encode_enumerated(change.operation),
            _encode_attribute(change.attribute),
        )
        for change in op.changes
    )
    return ber.encode_string(op.dn) + ber.encode_sequence(ber.SEQUENCE, *changes)


def _encode_add(op: AddRequest) -> bytes:
    attributes = map(_encode_attribute, op.attributes)
    return ber.encode_string(op.dn) + ber.encode_sequence(ber.SEQUENCE, *attributes)


def _encode_modify_dn(op: ModifyDNRequest) -> bytes:
    parts = [ber.encode_string(op.dn), ber.encode_string(op.new_rdn)]
    parts.append(ber.encode_boolean(op.delete_old_rdn))
    if op.new_superior is not None:
        parts.append(ber.encode_string(op.new_superior, _NEW_SUPERIOR))
    return b"".join(parts)


def _encode_compare(op: CompareRequest) -> bytes:
    ava = ber.encode_string(op.attribute) + ber.encode_octets(op.value)
    return ber.encode_string(op.dn) + ber.encode_tlv(ber.SEQUENCE, ava)


def _encode_optional(value: bytes | str | None, tag: int) -> bytes:
    if value is None:
        return b""
    return ber.encode_octets(value.encode() if isinstance(value, str) else value, tag)


def _encode_result(op: LdapResult) -> bytes:
    parts = [
        ber.encode_enumerated(op.result_code),
        ber.encode_string(op.matched_dn),
        ber.encode_string(op.diagnostic_message),
    ]
    if op.referral:
        parts.append(ber.encode_sequence(_REFERRAL, *map(ber.encode_string, op.referral)))
    if isinstance(op, BindResponse):
        parts.append(_encode_optional(op.server_sasl_credentials, _SASL_CREDS))
    elif isinstance(op, ExtendedResponse):
        parts.append(_encode_optional(op.response_name, _RESPONSE_NAME))
        parts.append(_encode_optional(op.response_value, _RESPONSE_VALUE))
    return b"".join(parts)


_ENCODERS: dict[type[Any], Callable[[Any], bytes]] = {
    BindRequest: _encode_bind,
    UnbindRequest: lambda op: b"",
    SearchRequest: _encode_search,
    ModifyRequest: _encode_modify,
    AddRequest: _encode_add,
    DelRequest: lambda op: op.dn.encode(),
    ModifyDNRequest: _encode_modify_dn,
    CompareRequest: _encode_compare,
    AbandonRequest: lambda op: ber.encode_integer(op.message_id)[2:],
    ExtendedRequest: lambda op: (
        ber.encode_string(op.oid, _NAME) + _encode_optional(op.value, _VALUE)
    ),
    IntermediateResponse: lambda op: (
        _encode_optional(op.response_name, _NAME) + _encode_optional(op.response_value, _VALUE)
    ),
    SearchResultReference: lambda op: b"".join(map(ber.encode_string, op.uris)),
    **{cls: _encode_result for cls in OP_TAGS if issubclass(cls, LdapResult)},
}
