"""Shortcuts the LDAP front takes for speed give the answers the full computation gives.

Canonical DNs skip parsing, exact index lookups skip filter evaluation, and DN and attribute
lookups are remembered: each is checked here against the slow path it replaces.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.support.ldap_tree import BASE, build, small_directory

from keyhall.ldap import schema
from keyhall.ldap.dn import format_dn, normalize, normalize_dn, parse_dn
from keyhall.ldap.entries import Dit
from keyhall.ldap.filters import parse_filter
from keyhall.ldap.query import matches, narrow
from keyhall.ldap.result_codes import LdapError
from keyhall.ldap.search import Selection


@pytest.fixture(scope="module")
def dit(tmp_path_factory: pytest.TempPathFactory) -> Dit:
    return build(small_directory(tmp_path_factory.mktemp("tree")), show_disabled=True)


def slow_normalize(text: str) -> str | None:
    try:
        return format_dn(normalize(parse_dn(text)))
    except LdapError:
        return None


def fast_normalize(text: str) -> str | None:
    try:
        return normalize_dn(text)
    except LdapError:
        return None


# Mostly the characters of canonical DNs, so that the shortcut is taken often, with the
# separators, escapes and case that must send a DN down the full parser.
@given(st.text(alphabet="abcXYZ09._@-=,+ #\\\"';<>", max_size=40))
def test_normalize_dn_agrees_with_parsing(text: str) -> None:
    assert fast_normalize(text) == slow_normalize(text)
    assert fast_normalize(text) == slow_normalize(text)  # the remembered answer too


@pytest.mark.parametrize(
    "text",
    [
        f"uid=bob,ou=users,{BASE}",
        f"UID=Bob, ou=users,{BASE}",
        f"uid=bob+cn=x,ou=users,{BASE}",
        "uid=#626f62",
        "uid= bob ,dc=x",
        "x" * 300 + "=y",
    ],
)
def test_normalize_dn_examples(text: str) -> None:
    assert fast_normalize(text) == slow_normalize(text)


@pytest.mark.parametrize(
    "text",
    [
        "(uid=alice)",
        "(uid=ALICE)",
        "(mail=alice@EXAMPLE.org)",
        "(|(uid=alice)(mail=bob@example.org))",
        "(|(uid=nobody)(mail=nobody))",
        f"(member=uid=bob,ou=users,{BASE})",
        f"(member=UID=Bob, OU=Users,{BASE.upper()})",
        f"(uniqueMember=uid=bob,ou=users,{BASE}#'0101'B)",
        "(member=not a dn)",
        "(nonsense=1)",
        "(objectClass=groupOfNames)",
        "(gidNumber=20001)",
        "(gidNumber=abc)",
        "(uid:=bob)",
        "(uid:1.2.840.113556.1.4.1941:=bob)",  # in-chain on a non-DN attribute: Undefined
        f"(memberOf:1.2.840.113556.1.4.1941:=cn=dev,ou=groups,{BASE})",
        "(&(objectClass=person)(uid=bob))",
        "(&(uid=bob)(!(uid=bob)))",
        "(|(uid=bob)(displayName=a*))",
    ],
)
def test_narrowing_never_changes_a_result(dit: Dit, text: str) -> None:
    f = parse_filter(text)
    everything = [e for e in dit.by_dn.values() if matches(f, e)]
    narrowed = narrow(f, dit)
    if narrowed is None:
        return  # the search scans the subtree and evaluates the filter on each entry
    pool, exact = narrowed
    assert [e for e in pool if matches(f, e)] == everything
    if exact:  # the search returns the pool as it is
        assert pool == everything


def test_remembered_lookups_are_the_computed_ones() -> None:
    for name in ("cn", "CN", "commonName", "2.5.4.3", "cn;lang-en", " uid ", "nonsense"):
        assert schema.attribute(name) == schema.attribute(name)
    assert schema.attribute("CommonName") is schema.BY_NAME["cn"]
    assert schema.attribute("x" * 100) is None  # too long to remember, still answered
    requested = ("uid", "MAIL", "+")
    assert Selection.parse(requested) == Selection._parse(requested)
    long_list = tuple(f"attr{n}" for n in range(300))
    assert Selection.parse(long_list) == Selection._parse(long_list)
