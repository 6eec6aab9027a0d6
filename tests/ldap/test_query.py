"""Filters evaluated against the served tree: matching rules per syntax, Undefined, AD rules."""

from __future__ import annotations

import pytest
from tests.support.ldap_tree import BASE, build, small_directory

from keyhall.ldap.entries import Dit
from keyhall.ldap.filters import parse_filter
from keyhall.ldap.query import candidates, evaluate, matches


@pytest.fixture(scope="module")
def dit(tmp_path_factory: pytest.TempPathFactory) -> Dit:
    return build(small_directory(tmp_path_factory.mktemp("tree")), show_disabled=True)


def found(dit: Dit, text: str) -> list[str]:
    f = parse_filter(text)
    return [e.dn.split(",")[0] for e in dit.by_dn.values() if matches(f, e)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(uid=ALICE)", ["uid=alice"]),
        ("(mail=alice@EXAMPLE.org)", ["uid=alice"]),
        ("(&(objectClass=user)(|(username=bob)(mail=bob)))", ["uid=bob"]),
        (
            "(&(objectclass=person)(|(uid=alice@example.org)(mail=alice@example.org)))",
            ["uid=alice"],
        ),
        ("(cn=  Alice  )", ["uid=alice"]),  # insignificant spaces (RFC 4518)
        ("(displayName=alice*)", ["uid=alice"]),
        ("(displayName=*van*)", []),
        ("(mail=*@example.org)", ["uid=owner", "uid=alice", "uid=bob", "uid=carol"]),
        ("(sn=D*v*s)", ["uid=carol"]),
        ("(memberOf=CN=Dev, OU=Groups,DC=Example,DC=Org)", ["uid=alice", "uid=bob"]),
        (f"(member=uid=bob,ou=users,{BASE})", ["cn=users", "cn=dev", "cn=ops"]),
        (f"(uniqueMember=uid=bob,ou=users,{BASE}#'0101'B)", ["cn=users", "cn=dev", "cn=ops"]),
        ("(memberUid=bob)", ["cn=users", "cn=dev", "cn=ops"]),
        ("(memberUid=BOB)", []),  # RFC 2307: memberUid is caseExactIA5Match
        ("(isadmin=1)", ["uid=owner", "uid=alice"]),
        ("(&(objectClass=group)(cn=admins))", ["cn=admins"]),
        ("(uidNumber>=10003)", ["uid=bob", "uid=carol"]),
        ("(uidNumber<=10001)", ["uid=owner"]),
        ("(uid>=b)", []),  # uid has no ordering rule: Undefined
        (
            "(createTimestamp>=20000101000000Z)",
            ["uid=owner", "uid=alice", "uid=bob", "uid=carol", "cn=dev", "cn=ops"],
        ),
        ("(nonsense=1)", []),
        ("(!(nonsense=1))", []),  # NOT Undefined is Undefined
        ("(|(nonsense=1)(uid=bob))", ["uid=bob"]),
        ("(uidNumber=abc)", []),
        ("(userAccountControl:1.2.840.113556.1.4.803:=2)", ["uid=carol"]),
        (
            "(&(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))",
            ["uid=owner", "uid=alice", "uid=bob"],
        ),
        ("(userAccountControl:1.2.840.113556.1.4.804:=3)", ["uid=carol"]),
        (f"(memberOf:1.2.840.113556.1.4.1941:=cn=ops,ou=groups,{BASE})", ["uid=bob", "uid=carol"]),
        ("(uid:caseExactMatch:=alice)", ["uid=alice"]),
        ("(uid:2.5.13.2:=ALICE)", ["uid=alice"]),
        ("(ou:dn:=users)", ["ou=users", "uid=owner", "uid=alice", "uid=bob", "uid=carol"]),
        ("(uid:1.2.3.4:=alice)", []),
        ("(objectClass=*)", None),
        ("(uid~=alice)", ["uid=alice"]),
        ("(&)", None),
        ("(|)", []),
    ],
)
def test_filters(dit: Dit, text: str, expected: list[str] | None) -> None:
    result = found(dit, text)
    if expected is None:
        assert len(result) == len(dit.by_dn)
    else:
        assert result == expected


def test_unknown_attribute_is_undefined_not_false(dit: Dit) -> None:
    entry = dit.by_dn[f"uid=alice,ou=users,{BASE}"]
    assert evaluate(parse_filter("(nonsense=1)"), entry) is None
    assert evaluate(parse_filter("(description=x)"), entry) is False  # known, absent


def test_indexes_narrow_without_changing_results(dit: Dit) -> None:
    for text in (
        "(|(uid=alice)(mail=bob@example.org))",
        "(&(objectClass=person)(uid=bob))",
        f"(&(objectClass=group)(member=uid=bob,ou=users,{BASE}))",
        f"(memberOf:1.2.840.113556.1.4.1941:=cn=dev,ou=groups,{BASE})",
    ):
        f = parse_filter(text)
        narrowed = candidates(f, dit)
        assert narrowed is not None and len(narrowed) < len(dit.by_dn)
        assert [e for e in narrowed if matches(f, e)] == [
            e for e in dit.by_dn.values() if matches(f, e)
        ]
    assert candidates(parse_filter("(displayName=a*)"), dit) is None
