"""RFC 4514 distinguished names: parsing, escaping, normalising."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyhall.ldap.dn import (
    DN,
    escape_dn_value,
    format_dn,
    is_descendant,
    is_within,
    normalize_dn,
    parent,
    parse_dn,
    parse_normalized,
)
from keyhall.ldap.result_codes import LdapError, ResultCode

PARSED: list[tuple[str, DN]] = [
    ("", ()),
    (
        "uid=alice,ou=people,dc=example,dc=com",
        ((("uid", "alice"),), (("ou", "people"),), (("dc", "example"),), (("dc", "com"),)),
    ),
    # RFC 4514 §4 examples.
    (
        "UID=jsmith,DC=example,DC=net",
        ((("UID", "jsmith"),), (("DC", "example"),), (("DC", "net"),)),
    ),
    (
        "OU=Sales+CN=J.  Smith,DC=example,DC=net",
        ((("OU", "Sales"), ("CN", "J.  Smith")), (("DC", "example"),), (("DC", "net"),)),
    ),
    (
        'CN=James \\"Jim\\" Smith\\, III,DC=example,DC=net',
        ((("CN", 'James "Jim" Smith, III'),), (("DC", "example"),), (("DC", "net"),)),
    ),
    (
        "CN=Before\\0dAfter,DC=example,DC=net",
        ((("CN", "Before\rAfter"),), (("DC", "example"),), (("DC", "net"),)),
    ),
    ("1.3.6.1.4.1.1466.0=#04024869", ((("1.3.6.1.4.1.1466.0", "Hi"),),)),
    ("CN=Lu\\C4\\8Di\\C4\\87", ((("CN", "Lučić"),),)),
    ("cn=Lučić", ((("cn", "Lučić"),),)),
    ("cn=\\ lead and trail\\ ", ((("cn", " lead and trail "),),)),
    ("cn=\\#hash", ((("cn", "#hash"),),)),
    ("cn=a#b=c", ((("cn", "a#b=c"),),)),
    ("cn=", ((("cn", ""),),)),
    ("cn=a\\\\", ((("cn", "a\\"),),)),
    ("cn=a\\\\  ", ((("cn", "a\\"),),)),
    ("cn=x\\ \\ ", ((("cn", "x  "),),)),
    (" uid = a , ou=b ", ((("uid", "a"),), (("ou", "b"),))),
    ("cn=a\\+b+sn=c", ((("cn", "a+b"), ("sn", "c")),)),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_parse_dn(text: str, expected: DN) -> None:
    assert parse_dn(text) == expected


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_formatted_dn_parses_back(text: str, expected: DN) -> None:
    assert parse_dn(format_dn(expected)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "cn",
        "=a",
        "cn=a,",
        ",cn=a",
        "cn=a+",
        "cn=a,,dc=b",
        'cn=a"b',
        "cn=a;b",
        "cn=a<b",
        "cn=a\\",
        "cn=a\\zz",
        "cn=\\ff",
        "cn=#0403ab",
        "cn=#0202ffff",
        "cn=#3000",
        "c n=a",
        "1cn=a",
        "cn=a\x00",
    ],
)
def test_invalid_dns_raise_invalid_dn_syntax(text: str) -> None:
    with pytest.raises(LdapError) as caught:
        parse_dn(text)
    assert caught.value.code is ResultCode.INVALID_DN_SYNTAX


def test_escape_dn_value() -> None:
    assert escape_dn_value('a,b+c"d\\e<f>g;h') == 'a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h'
    assert escape_dn_value(" #x ") == "\\ #x\\ "
    assert escape_dn_value("#x") == "\\#x"
    assert escape_dn_value(" ") == "\\ "
    assert escape_dn_value("a\0") == "a\\00"


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("UID=Alice, OU=People,DC=Example,DC=COM", "uid=alice,ou=people,dc=example,dc=com"),
        ("cn=J.  Smith  +OU=Sales", "cn=j. smith+ou=sales"),
        ("OU=Sales+CN=J. Smith", "cn=j. smith+ou=sales"),
        ("cn=#04024869", "cn=hi"),
        ("cn=\\41", "cn=a"),
        ("", ""),
    ],
)
def test_normalize_dn(text: str, normal: str) -> None:
    assert normalize_dn(text) == normal
    assert normalize_dn(normal) == normal


def test_hierarchy_helpers() -> None:
    base = parse_normalized("dc=example,dc=com")
    user = parse_normalized("uid=a,ou=People,DC=Example,dc=com")
    assert parent(parent(user)) == base
    assert parent(()) == ()
    assert is_descendant(user, base)
    assert not is_descendant(base, base)
    assert is_within(base, base)
    assert is_within(user, ())
    assert is_descendant(user, ())
    assert not is_descendant(base, user)
    assert not is_within(parse_normalized("dc=example,dc=org"), base)


# --- properties ------------------------------------------------------------------------

types = st.from_regex(r"\A(?:[A-Za-z][A-Za-z0-9-]{0,8}|[12](?:\.[0-9]{1,3}){1,4})\Z")
dn_values = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
rdns = st.lists(st.tuples(types, dn_values), min_size=1, max_size=3).map(tuple)
dns = st.lists(rdns, max_size=5).map(tuple)


@given(dns)
def test_format_parse_round_trip(dn: DN) -> None:
    assert parse_dn(format_dn(dn)) == dn


@given(dns)
def test_normalize_is_idempotent(dn: DN) -> None:
    normal = normalize_dn(format_dn(dn))
    assert normalize_dn(normal) == normal


@given(st.text(max_size=40))
def test_parser_only_raises_ldap_errors(text: str) -> None:
    try:
        parse_dn(text)
    except LdapError as error:
        code: ResultCode | None = error.code
    else:
        code = None
    assert code in (None, ResultCode.INVALID_DN_SYNTAX)
