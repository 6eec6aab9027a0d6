"""LDAPMessage codec against PDUs captured from ldapsearch and python-ldap (RFC 4511 §4)."""

from __future__ import annotations

import pytest
from tests.ldap import golden_pdus as golden

from keyhall.ldap.controls import PAGED_RESULTS_OID, START_TLS_OID, WHO_AM_I_OID
from keyhall.ldap.filters import (
    And,
    ApproxMatch,
    EqualityMatch,
    ExtensibleMatch,
    GreaterOrEqual,
    LessOrEqual,
    Not,
    Or,
    Present,
    Substrings,
)
from keyhall.ldap.messages import (
    AbandonRequest,
    AddRequest,
    AddResponse,
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
    MessageTooLarge,
    Modification,
    ModifyDNRequest,
    ModifyDNResponse,
    ModifyOperation,
    ModifyRequest,
    ModifyResponse,
    ProtocolError,
    Scope,
    SearchRequest,
    SearchResultDone,
    SearchResultEntry,
    SearchResultReference,
    UnbindRequest,
    decode_message,
    encode_message,
    encode_search_entry,
    notice_of_disconnection,
)
from keyhall.ldap.result_codes import ResultCode

LIMITS = {"max_size": 1 << 20, "max_depth": 32}
BASE = "dc=example,dc=com"
PEOPLE = "ou=people,dc=example,dc=com"


def decode(pdu: bytes) -> LdapMessage:
    message, consumed = decode_message(pdu, **LIMITS)
    assert consumed == len(pdu)
    assert message is not None
    return message


GOLDEN: list[tuple[bytes, LdapMessage]] = [
    (
        golden.LDAPSEARCH_BIND,
        LdapMessage(1, BindRequest(3, "uid=admin,ou=people,dc=example,dc=com", b"secret")),
    ),
    (
        golden.LDAPSEARCH_SEARCH,
        LdapMessage(
            2,
            SearchRequest(
                BASE,
                Scope.SUB,
                DerefAliases.NEVER,
                0,
                0,
                False,
                And(
                    (
                        EqualityMatch("objectClass", b"person"),
                        Or((Substrings("uid", initial=b"a"), EqualityMatch("mail", b"x@y"))),
                    )
                ),
                ("cn", "mail"),
            ),
        ),
    ),
    (golden.LDAPSEARCH_UNBIND, LdapMessage(3, UnbindRequest())),
    (
        golden.LDAPSEARCH_PAGED_SEARCH,
        LdapMessage(
            2,
            SearchRequest(BASE, Scope.SUB, DerefAliases.NEVER, 0, 0, False, Present("objectClass")),
            (Control(PAGED_RESULTS_OID, False, bytes.fromhex("3006020201f40400")),),
        ),
    ),
    (golden.LDAPSEARCH_ANONYMOUS_BIND, LdapMessage(1, BindRequest(3, "", b""))),
    (
        golden.LDAPSEARCH_EVERY_FILTER,
        LdapMessage(
            2,
            SearchRequest(
                PEOPLE,
                Scope.ONE,
                DerefAliases.ALWAYS,
                10,
                5,
                True,
                And(
                    (
                        GreaterOrEqual("cn", b"m"),
                        LessOrEqual("sn", b"z"),
                        Not(ApproxMatch("givenName", b"bob")),
                        Substrings("cn", None, (b"a", b"b", b"*"), b"z"),
                        ExtensibleMatch("caseExactMatch", "uid", b"J(ohn)"),
                        ExtensibleMatch("2.5.13.5", None, b"Admin", dn_attributes=True),
                    )
                ),
                ("*", "+"),
            ),
        ),
    ),
    (
        golden.LDAPSEARCH_ROOT_DSE,
        LdapMessage(
            2,
            SearchRequest(
                "",
                Scope.BASE,
                DerefAliases.NEVER,
                0,
                0,
                False,
                Present("objectClass"),
                ("namingContexts", "supportedControl"),
            ),
        ),
    ),
    (
        golden.LDAPSEARCH_MANAGE_DSA_IT,
        LdapMessage(
            2,
            SearchRequest(
                BASE, Scope.SUB, DerefAliases.NEVER, 0, 0, False, EqualityMatch("uid", b"x")
            ),
            (Control("2.16.840.1.113730.3.4.2", critical=True),),
        ),
    ),
    (
        golden.LDAPWHOAMI_BIND,
        LdapMessage(1, BindRequest(3, "cn=admin,dc=example,dc=com", b"p@ss word")),
    ),
    (golden.LDAPWHOAMI_EXTENDED, LdapMessage(2, ExtendedRequest(WHO_AM_I_OID))),
    (golden.LDAPSEARCH_START_TLS, LdapMessage(1, ExtendedRequest(START_TLS_OID))),
    (
        golden.LDAPCOMPARE,
        LdapMessage(2, CompareRequest(f"uid=alice,{PEOPLE}", "mail", b"alice@example.com")),
    ),
    (golden.LDAPDELETE, LdapMessage(2, DelRequest(f"uid=bob,{PEOPLE}"))),
    (
        golden.LDAPMODRDN,
        LdapMessage(2, ModifyDNRequest(f"uid=bob,{PEOPLE}", "uid=robert", True)),
    ),
    (
        golden.LDAPMODIFY_ADD,
        LdapMessage(
            2,
            AddRequest(
                f"uid=carol,{PEOPLE}",
                (("objectClass", (b"person",)), ("cn", (b"Carol",)), ("sn", (b"C",))),
            ),
        ),
    ),
    (
        golden.LDAPMODIFY_MODIFY,
        LdapMessage(
            3,
            ModifyRequest(
                f"uid=carol,{PEOPLE}",
                (
                    Modification(ModifyOperation.REPLACE, ("mail", (b"c@example.com",))),
                    Modification(ModifyOperation.DELETE, ("sn", ())),
                ),
            ),
        ),
    ),
    (
        golden.PYTHON_LDAP_BIND,
        LdapMessage(1, BindRequest(3, f"uid=alice,{PEOPLE}", b"hunter2")),
    ),
    (
        golden.PYTHON_LDAP_PAGED_SEARCH,
        LdapMessage(
            2,
            SearchRequest(
                PEOPLE,
                Scope.SUB,
                DerefAliases.NEVER,
                0,
                0,
                False,
                And(
                    (
                        EqualityMatch("objectClass", b"inetOrgPerson"),
                        EqualityMatch("memberOf", b"cn=admins,ou=groups,dc=example,dc=com"),
                    )
                ),
                ("uid", "memberOf"),
            ),
            (Control(PAGED_RESULTS_OID, True, bytes.fromhex("300d020164040800016f7061717565")),),
        ),
    ),
    (
        golden.PYTHON_LDAP_BASE_SEARCH,
        LdapMessage(
            3,
            SearchRequest(
                BASE, Scope.BASE, DerefAliases.NEVER, 0, 0, False, Present("objectClass")
            ),
        ),
    ),
    (golden.PYTHON_LDAP_ABANDON, LdapMessage(4, AbandonRequest(3))),
    (golden.PYTHON_LDAP_UNBIND, LdapMessage(5, UnbindRequest())),
]


def test_every_golden_pdu_has_an_expectation() -> None:
    assert sorted(pdu for pdu, _ in GOLDEN) == sorted(golden.ALL)


@pytest.mark.parametrize(("pdu", "expected"), GOLDEN)
def test_golden_pdu_decodes_to_expected_message(pdu: bytes, expected: LdapMessage) -> None:
    assert decode(pdu) == expected


@pytest.mark.parametrize(("pdu", "expected"), GOLDEN)
def test_golden_pdu_reencodes_byte_for_byte(pdu: bytes, expected: LdapMessage) -> None:
    assert encode_message(expected) == pdu


@pytest.mark.parametrize("pdu", golden.ALL)
def test_returns_none_until_whole_pdu_is_buffered(pdu: bytes) -> None:
    for cut in range(len(pdu)):
        assert decode_message(pdu[:cut], **LIMITS) == (None, 0)


def test_decodes_first_of_several_buffered_pdus() -> None:
    stream = bytearray(golden.LDAPSEARCH_BIND + golden.LDAPSEARCH_SEARCH)
    message, consumed = decode_message(stream, **LIMITS)
    assert message is not None
    assert isinstance(message.op, BindRequest)
    message, _ = decode_message(memoryview(stream)[consumed:], **LIMITS)
    assert message is not None
    assert isinstance(message.op, SearchRequest)


def test_oversize_pdu_is_refused_from_its_header_alone() -> None:
    header = bytes.fromhex("3084") + (10_000_000).to_bytes(4, "big")
    with pytest.raises(MessageTooLarge) as caught:
        decode_message(header, max_size=1 << 20, max_depth=8)
    assert caught.value.code is ResultCode.PROTOCOL_ERROR
    assert caught.value.size == 10_000_006


def test_pdu_exactly_at_max_size_is_accepted() -> None:
    pdu = golden.LDAPSEARCH_SEARCH
    assert decode_message(pdu, max_size=len(pdu), max_depth=8)[1] == len(pdu)
    with pytest.raises(MessageTooLarge):
        decode_message(pdu, max_size=len(pdu) - 1, max_depth=8)


def test_filter_deeper_than_max_depth_is_a_protocol_error() -> None:
    # The captured search filter is And(Equality, Or(...)): two levels of nesting.
    assert decode_message(golden.LDAPSEARCH_SEARCH, max_size=1 << 20, max_depth=2)[0]
    with pytest.raises(ProtocolError, match="deep"):
        decode_message(golden.LDAPSEARCH_SEARCH, max_size=1 << 20, max_depth=1)


@pytest.mark.parametrize(
    ("hex_pdu", "reason"),
    [
        ("0405020101420000", "not a SEQUENCE"),
        ("3080020101420000", "indefinite length"),
        ("30850000000005020101", "five length octets"),
        ("30050201014300", "unknown op tag"),
        ("3006020101420100", "unbind with content"),
        ("30050201017f00", "multi-byte tag"),
        ("300702010142000000", "trailing bytes"),
        ("3009020500ffffffff4200", "message id above maxInt"),
        ("30050201ff4200", "negative message id"),
        ("3005020042004200", "empty INTEGER"),
        ("300c020101600702010304008100", "unknown bind choice"),
        ("300c02010160070201030402ff808000", "bad UTF-8 name"),
        ("30070201014200a100", "controls with wrong tag"),
    ],
)
def test_malformed_pdus_are_protocol_errors(hex_pdu: str, reason: str) -> None:
    with pytest.raises(ProtocolError):
        decode_message(bytes.fromhex(hex_pdu), **LIMITS)


def test_unknown_scope_is_a_protocol_error() -> None:
    pdu = bytearray(golden.LDAPSEARCH_ROOT_DSE)
    scope_at = pdu.index(bytes.fromhex("0a0100"))
    pdu[scope_at + 2] = 7
    with pytest.raises(ProtocolError, match="Scope"):
        decode_message(bytes(pdu), **LIMITS)


RESPONSES = [
    LdapMessage(1, BindResponse(ResultCode.SUCCESS)),
    LdapMessage(1, BindResponse(ResultCode.SASL_BIND_IN_PROGRESS, server_sasl_credentials=b"c")),
    LdapMessage(2, BindRequest(3, "", sasl_mechanism="EXTERNAL")),
    LdapMessage(2, BindRequest(3, "", sasl_mechanism="PLAIN", sasl_credentials=b"\0u\0p")),
    LdapMessage(2, SearchResultEntry("uid=a,dc=x", (("cn", (b"A", b"B")), ("mail", ())))),
    LdapMessage(2, SearchResultReference(("ldap://other/dc=x",))),
    LdapMessage(
        2,
        SearchResultDone(ResultCode.SUCCESS),
        (Control(PAGED_RESULTS_OID, False, bytes.fromhex("3005020100 0400".replace(" ", ""))),),
    ),
    LdapMessage(3, ModifyResponse(ResultCode.UNWILLING_TO_PERFORM, "", "read-only")),
    LdapMessage(3, AddResponse(ResultCode.UNWILLING_TO_PERFORM)),
    LdapMessage(3, DelResponse(ResultCode.NO_SUCH_OBJECT, "dc=x", "", ("ldap://a", "ldap://b"))),
    LdapMessage(3, ModifyDNResponse(ResultCode.UNWILLING_TO_PERFORM)),
    LdapMessage(3, CompareResponse(ResultCode.COMPARE_TRUE)),
    LdapMessage(3, ModifyDNRequest("uid=a,dc=x", "uid=b", False, "ou=y,dc=x")),
    LdapMessage(4, ExtendedResponse(ResultCode.SUCCESS, response_value=b"dn:uid=a,dc=x")),
    LdapMessage(4, ExtendedRequest("1.2.3", b"\x00")),
    LdapMessage(4, IntermediateResponse("1.2.3", b"v")),
    LdapMessage(4, IntermediateResponse()),
    LdapMessage(2**31 - 1, AbandonRequest(2**31 - 1)),
    LdapMessage(200, AbandonRequest(128)),
    notice_of_disconnection(ResultCode.PROTOCOL_ERROR, "bad PDU"),
]


@pytest.mark.parametrize("message", RESPONSES)
def test_message_round_trips(message: LdapMessage) -> None:
    assert decode(encode_message(message)) == message


def test_notice_of_disconnection_is_unsolicited() -> None:
    notice = notice_of_disconnection(ResultCode.UNAVAILABLE, "shutting down")
    assert notice.message_id == 0
    assert isinstance(notice.op, ExtendedResponse)
    assert notice.op.response_name == "1.3.6.1.4.1.1466.20036"


def test_search_entry_fast_path_matches_generic_encoder() -> None:
    attributes = (("objectClass", (b"top", b"person")), ("cn", (b"x" * 300,)))
    entry = LdapMessage(9, SearchResultEntry("uid=a,dc=example,dc=com", attributes))
    fast = encode_search_entry(9, "uid=a,dc=example,dc=com", attributes)
    assert fast == encode_message(entry)
    assert decode(fast) == entry


def test_bind_response_golden_shape() -> None:
    # RFC 4511 §4.2.2: LDAPResult(success, "", "") is what every OpenLDAP client expects.
    assert encode_message(LdapMessage(1, BindResponse(ResultCode.SUCCESS))) == bytes.fromhex(
        "300c02010161070a010004000400"
    )
