"""Search filters: RFC 4515 strings and RFC 4511 §4.5.1.7 BER, both ways."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyhall.ldap.filters import (
    And,
    ApproxMatch,
    EqualityMatch,
    ExtensibleMatch,
    Filter,
    FilterSyntaxError,
    GreaterOrEqual,
    LessOrEqual,
    Not,
    Or,
    Present,
    Substrings,
    decode_filter,
    encode_filter,
    escape_filter_value,
    filter_to_string,
    parse_filter,
)
from keyhall.ldap.result_codes import ProtocolError

PARSED: list[tuple[str, Filter]] = [
    ("(uid=alice)", EqualityMatch("uid", b"alice")),
    ("uid=alice", EqualityMatch("uid", b"alice")),
    ("(objectClass=*)", Present("objectClass")),
    ("(cn~=bob)", ApproxMatch("cn", b"bob")),
    ("(uidNumber>=1000)", GreaterOrEqual("uidNumber", b"1000")),
    ("(uidNumber<=1000)", LessOrEqual("uidNumber", b"1000")),
    ("(cn=a*)", Substrings("cn", initial=b"a")),
    ("(cn=*a)", Substrings("cn", final=b"a")),
    ("(cn=*a*b*)", Substrings("cn", any=(b"a", b"b"))),
    ("(cn=a*b*c)", Substrings("cn", b"a", (b"b",), b"c")),
    ("(cn=a**c)", Substrings("cn", b"a", (), b"c")),
    ("(CN;lang-en=x)", EqualityMatch("CN;lang-en", b"x")),
    ("(2.5.4.3=x)", EqualityMatch("2.5.4.3", b"x")),
    ("(&)", And(())),
    ("(|)", Or(())),
    ("(!(a=b))", Not(EqualityMatch("a", b"b"))),
    (
        "(&(objectClass=person)(|(uid=a*)(mail=x@y)))",
        And(
            (
                EqualityMatch("objectClass", b"person"),
                Or((Substrings("uid", initial=b"a"), EqualityMatch("mail", b"x@y"))),
            )
        ),
    ),
    # RFC 4515 §4 examples.
    ("(cn=Babs Jensen)", EqualityMatch("cn", b"Babs Jensen")),
    ("(!(cn=Tim Howes))", Not(EqualityMatch("cn", b"Tim Howes"))),
    ("(o=univ*of*mich*)", Substrings("o", b"univ", (b"of", b"mich"))),
    ("(seeAlso=)", EqualityMatch("seeAlso", b"")),
    (
        "(cn:caseExactMatch:=Fred Flintstone)",
        ExtensibleMatch("caseExactMatch", "cn", b"Fred Flintstone"),
    ),
    ("(cn:=Betty Rubble)", ExtensibleMatch(None, "cn", b"Betty Rubble")),
    (
        "(sn:dn:2.4.6.8.10:=Barney Rubble)",
        ExtensibleMatch("2.4.6.8.10", "sn", b"Barney Rubble", True),
    ),
    ("(o:dn:=Ace Industry)", ExtensibleMatch(None, "o", b"Ace Industry", True)),
    ("(:1.2.3:=Wilma Flintstone)", ExtensibleMatch("1.2.3", None, b"Wilma Flintstone")),
    ("(:DN:2.4.6.8.10:=Dino)", ExtensibleMatch("2.4.6.8.10", None, b"Dino", True)),
    (
        "(o=Parens R Us \\28for all your parenthetical needs\\29)",
        EqualityMatch("o", b"Parens R Us (for all your parenthetical needs)"),
    ),
    ("(cn=*\\2A*)", Substrings("cn", any=(b"*",))),
    ("(filename=C:\\5cMyFile)", EqualityMatch("filename", b"C:\\MyFile")),
    ("(bin=\\00\\00\\00\\04)", EqualityMatch("bin", b"\x00\x00\x00\x04")),
    ("(sn=Lu\\c4\\8di\\c4\\87)", EqualityMatch("sn", "Lučić".encode())),
    ("(1.3.6.1.4.1.1466.0=\\04\\02\\48\\69)", EqualityMatch("1.3.6.1.4.1.1466.0", b"\x04\x02Hi")),
    ("(sn=Lučić)", EqualityMatch("sn", "Lučić".encode())),
    ("  (uid=a)  ", EqualityMatch("uid", b"a")),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_parse_filter(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_parsed_filters_survive_string_and_ber_round_trips(text: str, expected: Filter) -> None:
    assert parse_filter(filter_to_string(expected)) == expected
    raw = encode_filter(expected)
    assert decode_filter(raw, 0, len(raw), 32) == (expected, len(raw))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "()",
        "(uid)",
        "(=a)",
        "(uid=a",
        "(uid=a))",
        "((uid=a))",
        "(!(a=b)(c=d))",
        "(!)",
        "(&(a=b)",
        "(uid=a\\)",
        "(uid=a\\zz)",
        "(uid=a\\4)",
        "(uid=a(b)",
        "(uid~=a*)",
        "(uid>=*)",
        "(cn=**)",
        "(u id=a)",
        "(1uid=a)",
        "(:dn:=a)",
        "(:=a)",
        "(cn:x:y:=a)",
        "(cn:bad rule:=a)",
        "(cn:=a*)",
        "(uid=a\x00)",
    ],
)
def test_malformed_filter_strings_are_rejected(text: str) -> None:
    with pytest.raises(FilterSyntaxError):
        parse_filter(text)


def test_string_depth_limit() -> None:
    text = "(!" * 10 + "(a=b)" + ")" * 10
    assert parse_filter(text, max_depth=10)
    with pytest.raises(FilterSyntaxError, match="deep"):
        parse_filter(text, max_depth=9)


def test_escape_filter_value() -> None:
    assert escape_filter_value("a*(b)\\c\0") == "a\\2a\\28b\\29\\5cc\\00"
    assert escape_filter_value("Lučić") == "Lučić"


def test_filter_to_string_escapes_values_that_are_not_utf8() -> None:
    item = EqualityMatch("objectGUID", b"\xff\x00a")
    assert filter_to_string(item) == "(objectGUID=\\ff\\00\\61)"
    assert parse_filter(filter_to_string(item)) == item


def test_filter_to_string_of_every_kind() -> None:
    item = And(
        (
            Or((Present("a"), Not(ApproxMatch("b", b"c")))),
            Substrings("d", b"(", (b"*",), b")"),
            ExtensibleMatch("caseIgnoreMatch", None, b"x", True),
            GreaterOrEqual("e", b"1"),
            LessOrEqual("f", b"2"),
        )
    )
    assert filter_to_string(item) == (
        "(&(|(a=*)(!(b~=c)))(d=\\28*\\2a*\\29)(:dn:caseIgnoreMatch:=x)(e>=1)(f<=2))"
    )


@pytest.mark.parametrize(
    ("hex_data", "reason"),
    [
        ("8a0161", "unknown choice"),
        ("a4080401613003800000", "empty initial"),
        ("a40a04016130058201618001", "final before initial"),
        ("a406040161300100", "no substrings"),
        ("a4050401613000", "empty substrings sequence"),
        ("a40a0401613005830161", "bad substring tag"),
        ("a903830161", "extensible without rule or type"),
        ("a205870161", "truncated"),
        ("a308040161040162ff", "trailing garbage in AVA"),
        ("a20a870161870162", "two filters under not"),
    ],
)
def test_malformed_ber_filters_are_protocol_errors(hex_data: str, reason: str) -> None:
    raw = bytes.fromhex(hex_data)
    with pytest.raises(ProtocolError):
        decode_filter(raw, 0, len(raw), 32)


def test_ber_depth_limit_counts_and_or_not() -> None:
    item: Filter = Present("a")
    for wrap in (Not, lambda f: And((f,)), lambda f: Or((f,))) * 4:
        item = wrap(item)
    raw = encode_filter(item)
    assert decode_filter(raw, 0, len(raw), 12)[0] == item
    with pytest.raises(ProtocolError, match="deep"):
        decode_filter(raw, 0, len(raw), 11)


# --- properties ------------------------------------------------------------------------

attribute_names = st.from_regex(
    r"\A(?:[A-Za-z][A-Za-z0-9-]{0,8}|[12]\.[0-9]{1,3}(?:\.[0-9]{1,3}){0,3})(?:;[a-z0-9-]{1,5})?\Z"
)
rule_names = st.from_regex(r"\A(?:[A-Za-z][A-Za-z0-9-]{0,12}|[12](?:\.[0-9]{1,3}){1,4})\Z")
values = st.binary(max_size=12) | st.text(max_size=12).map(str.encode)
non_empty = st.binary(min_size=1, max_size=8) | st.text(min_size=1, max_size=8).map(str.encode)


def _substrings() -> st.SearchStrategy[Filter]:
    return st.builds(
        Substrings,
        attribute_names,
        st.none() | non_empty,
        st.lists(non_empty, max_size=3).map(tuple),
        st.none() | non_empty,
    ).filter(lambda f: bool(f.initial or f.any or f.final))


leaf_filters: st.SearchStrategy[Filter] = st.one_of(
    st.builds(EqualityMatch, attribute_names, values),
    st.builds(GreaterOrEqual, attribute_names, values),
    st.builds(LessOrEqual, attribute_names, values),
    st.builds(ApproxMatch, attribute_names, values),
    st.builds(Present, attribute_names),
    _substrings(),
    st.builds(ExtensibleMatch, rule_names, st.none() | attribute_names, values, st.booleans()),
    st.builds(ExtensibleMatch, st.none(), attribute_names, values, st.booleans()),
)
filters: st.SearchStrategy[Filter] = st.recursive(
    leaf_filters,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: And(tuple(items))),
        st.lists(inner, max_size=4).map(lambda items: Or(tuple(items))),
        inner.map(Not),
    ),
    max_leaves=12,
)


@given(filters)
def test_string_round_trip(item: Filter) -> None:
    text = filter_to_string(item)
    assert parse_filter(text) == item
    assert filter_to_string(parse_filter(text)) == text


@given(filters)
def test_ber_round_trip(item: Filter) -> None:
    raw = encode_filter(item)
    assert decode_filter(raw, 0, len(raw), 64) == (item, len(raw))


@given(st.text(max_size=40))
def test_escaped_text_is_a_literal_value(text: str) -> None:
    assert parse_filter(f"(cn={escape_filter_value(text)})") == EqualityMatch("cn", text.encode())


@given(st.text(max_size=30))
def test_parser_only_raises_filter_syntax_error(text: str) -> None:
    with contextlib.suppress(FilterSyntaxError):
        parse_filter(text)
