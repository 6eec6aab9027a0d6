from __future__ import annotations

import pytest

from keyhall.directory.validation import (
    normalize_email,
    normalize_group_name,
    normalize_username,
    split_display_name,
)
from keyhall.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("alice", "alice"), ("Alice", "alice"), (" bob.smith ", "bob.smith"), ("a", "a"),
     ("x_1-2", "x_1-2"), ("a" * 32, "a" * 32)],
)  # fmt: skip
def test_usernames_are_lowercased_and_accepted(raw: str, expected: str) -> None:
    assert normalize_username(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "a" * 33,
        "bad name",
        "-lead",
        "trail.",
        "al@ce",
        "é",
        "a,b",
        "a=b",
        "a*",
        "admin",
        "root",
    ],
)
def test_bad_usernames_are_refused_with_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as err:
        normalize_username(raw)
    assert err.value.field == "username"


def test_emails_keep_their_case_but_need_a_domain() -> None:
    assert normalize_email(" Alice@Example.COM ") == "Alice@Example.COM"
    for bad in ["alice", "alice@", "@example.com", "a@b", "a b@example.com", "a@@b.c"]:
        with pytest.raises(InvalidInput):
            normalize_email(bad)


def test_builtin_group_names_are_reserved() -> None:
    assert normalize_group_name("Devs") == "devs"
    for reserved in ("admins", "users", "ADMINS"):
        with pytest.raises(InvalidInput, match="reserved"):
            normalize_group_name(reserved)


def test_display_name_split() -> None:
    assert split_display_name("Alice van Dijk") == ("Alice", "van Dijk")
    assert split_display_name("Cher") == ("Cher", "")
