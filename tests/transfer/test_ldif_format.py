"""RFC 2849 reading and writing, on LDIF as slapcat and ldapsearch write it."""

from __future__ import annotations

import pytest

from keyhall.transfer import ldif
from keyhall.transfer.problems import LocatedError

SAMPLE = """# extended LDIF
version: 1

# alice, users, example.org
dn: uid=alice,ou=users,dc=example,dc=org
objectClass: inetOrgPerson
cn;lang-en: Alice
description: a long line that ldapsearch folds at seventy-six columns, so the re
 st of it continues here
displayName:: w4Fsw61jZQ==
jpegPhoto:: /9j/4AAQ

dn: cn=staff,ou=groups,dc=example,dc=org
objectClass: groupOfNames
member: uid=alice,ou=users,dc=example,dc=org
"""


def test_reads_folded_base64_and_commented_entries() -> None:
    alice, staff = ldif.read(SAMPLE.splitlines(keepends=True))
    assert (alice.line, alice.dn) == (5, "uid=alice,ou=users,dc=example,dc=org")
    assert alice.first("cn") == "Alice"
    assert alice.first("description") == (
        "a long line that ldapsearch folds at seventy-six columns, so the rest of it continues here"
    )
    assert alice.first("displayname") == "Álíce"
    assert alice.all("jpegphoto") == [""]  # binary: never imported
    assert staff.line == 13 and staff.all("member") == ["uid=alice,ou=users,dc=example,dc=org"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("dn: cn=a\ncn: a\n\n continued\n", 4, "continuation line"),
        (" dn: cn=a\n", 1, "continuation line"),
        ("dn: cn=a\ndescription: folded without\nits leading space\n", 3, "attribute: value"),
        ("dn: cn=a\ncn:: not*base64\n", 2, "invalid base64"),
        ("cn: a\n", 1, "expected 'dn:'"),
        ("dn: cn=a\ncn: a\ndn: cn=b\n", 3, "second 'dn:'"),
        ("dn: cn=a\nchangetype: delete\n", 2, "change records"),
        ("dn: cn=a\njpegPhoto:< file:///etc/passwd\n", 2, "URL values"),
    ],
)
def test_broken_ldif_is_located(text: str, line: int, message: str) -> None:
    with pytest.raises(LocatedError, match=message) as caught:
        list(ldif.read(text.splitlines(keepends=True)))
    assert caught.value.problem.line == line


def test_writer_folds_and_encodes_what_must_be() -> None:
    long = "x" * 200
    text = ldif.write_entry("cn=Zoë,dc=x", [("cn", "Zoë"), ("description", long), ("sn", " lead")])
    assert text.startswith("dn:: ")
    assert all(len(line) <= ldif.WRAP for line in text.splitlines())
    (entry,) = ldif.read(text.splitlines(keepends=True))
    assert entry.dn == "cn=Zoë,dc=x"
    assert entry.attrs == {"cn": ["Zoë"], "description": [long], "sn": [" lead"]}
