"""Entry mapping rules: AD range retrieval, expiry formats, filters and DNs built from logins."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from keyhall.connectors import entries
from keyhall.connectors.ldap_source import dynamic_dn, login_filter
from keyhall.connectors.scheduler import next_due
from keyhall.connectors.settings import KEYS, effective, parse
from keyhall.directory.sealing import Sealer
from keyhall.errors import InvalidInput


def test_ranged_values() -> None:
    # MS-ADTS 3.1.1.3.1.3.3: what AD sends for a group with more than 1,500 members.
    first = {"member;range=0-1499": [f"cn=u{i}".encode() for i in range(1500)], "cn": [b"big"]}
    values, next_start = entries.ranged_values(first, "member")
    assert (len(values), next_start) == (1500, 1500)
    last = {"member;range=1500-*": [b"cn=u1500", b"cn=u1501"]}
    values, next_start = entries.ranged_values(last, "Member")
    assert (values, next_start) == (["cn=u1500", "cn=u1501"], None)
    plain = {"member": [b"cn=a"]}
    assert entries.ranged_values(plain, "member") == (["cn=a"], None)


def test_expiry_formats() -> None:
    assert entries.expiry("9223372036854775807") is None
    assert entries.expiry("0") is None
    assert entries.expiry("-1") is None
    assert entries.expiry("132223104000000000") == datetime(2020, 1, 1, tzinfo=UTC)
    assert entries.expiry("18262") == datetime(2020, 1, 1, tzinfo=UTC)  # shadowExpire days
    assert entries.expiry("20200101120000Z") == datetime(2020, 1, 1, 12, tzinfo=UTC)
    assert entries.expiry("202001011200+0200") == datetime(2020, 1, 1, 10, tzinfo=UTC)
    assert entries.expiry("soon") is None


def test_object_guid_is_little_endian() -> None:
    guid = uuid.UUID("01234567-89ab-cdef-0123-456789abcdef")
    raw = {"objectguid": [guid.bytes_le]}
    assert entries.external_id(raw, "objectGUID") == str(guid)


def test_disabled_flags() -> None:
    assert entries.is_disabled({"useraccountcontrol": [b"514"]}, "userAccountControl")
    assert not entries.is_disabled({"useraccountcontrol": [b"512"]}, "userAccountControl")
    assert entries.is_disabled({"pwdaccountlockedtime": [b"000001010000Z"]}, "pwdAccountLockedTime")
    assert not entries.is_disabled({}, "pwdAccountLockedTime")
    assert not entries.is_disabled({"nsaccountlock": [b"FALSE"]}, "nsAccountLock")


def test_filters_escape_logins() -> None:
    config = effective({"provider": "ad"}, Sealer(bytes(32), "test"))
    assert login_filter(config, "*)(cn=*") == (
        r"(&(&(objectClass=user)(objectCategory=person))(sAMAccountName=\2a\29\28cn=\2a))"
    )
    assert login_filter(config, "DOM\\j@x.org") == (
        r"(&(&(objectClass=user)(objectCategory=person))(|(mail=j@x.org)(userPrincipalName=j@x.org)))"
    )
    hub = effective({"users_filter": "(uid=%u)"}, Sealer(bytes(32), "test"))
    assert login_filter(hub, "a\x00b") == r"(uid=a\00b)"
    dynamic = effective({"bind_dn_template": "uid=%u,ou=people"}, Sealer(bytes(32), "test"))
    assert dynamic_dn(dynamic, "x,cn=admin") == r"uid=x\,cn\=admin,ou=people"


def test_settings_parse() -> None:
    assert parse("sync_interval", "4h") == 4 * 3600
    assert parse("sync_interval", "90m") == 5400
    assert parse("sync_interval", "0") == 0  # on demand only
    assert KEYS["sync_interval"].default == 4 * 3600
    assert parse("group_mappings", '{"CN=Staff,DC=x": "Staff"}') == {"CN=Staff,DC=x": "staff"}
    assert parse("auto_join_groups", "a, B") == ["a", "b"]
    for key, raw in (
        ("sync_interval", "10"),
        ("provider", "novell"),
        ("enabled", "maybe"),
        ("group_mappings", "[1]"),
        ("url", "ldap://x\nbad"),
        ("nonsense", "1"),
    ):
        with pytest.raises(InvalidInput):
            parse(key, raw)


def test_next_sync_due() -> None:
    last = datetime(2026, 1, 1, tzinfo=UTC)
    assert next_due(None, None, 3600, 0.0) is None
    assert next_due(last, "ok", 3600, 0.0) == last + timedelta(hours=1)
    assert next_due(last, "ok", 3600, 0.05) == last + timedelta(seconds=3780)
    # A failed run is retried sooner than a whole interval later.
    assert next_due(last, "failed", 4 * 3600, 0.0) == last + timedelta(minutes=5)
