"""Turning raw LDAP entries into external users and groups (RFC 4512 attribute descriptions).

Pure functions over `{attribute: [bytes, ...]}` as python-ldap returns them: attribute names
compare case-insensitively; vendor quirks (AD's binary objectGUID, userAccountControl bits,
FILETIME expiry, ranged attributes) are handled here, as data-driven rules.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import ldap.dn

from keyhall.connectors.settings import ExternalConfig

RawEntry = Mapping[str, Sequence[bytes]]

# MS-ADTS 2.2.16 userAccountControl: ACCOUNTDISABLE.
AD_ACCOUNTDISABLE = 0x2
# MS-ADA1 accountExpires: 100 ns intervals since 1601-01-01; 0 and 2^63-1 mean never.
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_FILETIME_NEVER = frozenset({0, 0x7FFFFFFFFFFFFFFF})
# RFC 4517 §3.3.13 GeneralizedTime, the common forms (seconds optional, Z or offset).
_GENERALIZED = re.compile(r"(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?(?:\.\d+)?(Z|[+-]\d{4})?")
_FALSE_VALUES = frozenset({"", "0", "false", "no", "off"})
# MS-ADTS 3.1.1.3.1.3.3: `member;range=0-1499`, last chunk `member;range=1500-*`.
_RANGE = re.compile(r"(?P<attr>[^;]+);range=(?P<low>\d+)-(?P<high>\d+|\*)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ExternalUser:
    external_id: str
    dn: str
    username: str
    email: str
    display_name: str
    given_name: str
    family_name: str
    disabled: bool
    member_of: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExternalGroup:
    external_id: str
    dn: str
    name: str
    members: tuple[str, ...]
    """Member DNs, or usernames when the member attribute is memberUid."""


def lowered(entry: RawEntry) -> dict[str, Sequence[bytes]]:
    return {key.lower(): values for key, values in entry.items()}


def first_text(entry: Mapping[str, Sequence[bytes]], attribute: str) -> str:
    """The first value of an attribute as text ('' when absent or empty)."""
    if not attribute:
        return ""
    values = entry.get(attribute.lower())
    if not values:
        return ""
    return values[0].decode("utf-8", errors="replace").strip()


def texts(entry: Mapping[str, Sequence[bytes]], attribute: str) -> tuple[str, ...]:
    values = entry.get(attribute.lower(), ())
    return tuple(v.decode("utf-8", errors="replace") for v in values)


def external_id(entry: Mapping[str, Sequence[bytes]], attribute: str) -> str:
    values = entry.get(attribute.lower())
    if not values:
        return ""
    raw = values[0]
    if attribute.lower() == "objectguid" and len(raw) == 16:
        # MS-DTYP 2.3.4.2: a GUID's first three fields are little-endian on the wire.
        return str(uuid.UUID(bytes_le=raw))
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return raw.hex()


def is_disabled(entry: Mapping[str, Sequence[bytes]], attribute: str) -> bool:
    value = first_text(entry, attribute)
    if attribute.lower() == "useraccountcontrol":
        return value.isdigit() and bool(int(value) & AD_ACCOUNTDISABLE)
    return value.lower() not in _FALSE_VALUES


def expiry(value: str) -> datetime | None:
    """When an account expires: AD FILETIME, shadowExpire days, or GeneralizedTime."""
    value = value.strip()
    if not value or (value.lstrip("-").isdigit() and int(value) < 0):
        return None
    if value.isdigit():
        number = int(value)
        if number in _FILETIME_NEVER:
            return None
        if number > 10**12:
            return _FILETIME_EPOCH + timedelta(microseconds=number // 10)
        # shadowExpire (RFC 2307): days since 1970-01-01.
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=number)
    match = _GENERALIZED.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    at = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC
    )
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        at -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
    return at


def user_attributes(config: ExternalConfig) -> list[str]:
    names = [
        config.username_attribute,
        config.email_attribute,
        config.display_name_attribute,
        config.given_name_attribute,
        config.family_name_attribute,
        config.external_id_attribute,
        config.disabled_attribute,
        config.expires_attribute,
    ]
    if config.member_attribute.lower() == "memberof":
        names.append("memberOf")
    return sorted({n for n in names if n})


def group_attributes(config: ExternalConfig) -> list[str]:
    names = {config.group_name_attribute, config.external_id_attribute}
    if config.member_attribute.lower() != "memberof":
        names.add(config.member_attribute)
    return sorted(n for n in names if n)


def to_user(config: ExternalConfig, dn: str, raw: RawEntry, now: datetime) -> ExternalUser:
    entry = lowered(raw)
    expires = expiry(first_text(entry, config.expires_attribute))
    disabled = (
        bool(config.disabled_attribute) and is_disabled(entry, config.disabled_attribute)
    ) or (expires is not None and expires <= now)
    return ExternalUser(
        external_id=external_id(entry, config.external_id_attribute),
        dn=dn,
        username=first_text(entry, config.username_attribute),
        email=first_text(entry, config.email_attribute),
        display_name=first_text(entry, config.display_name_attribute),
        given_name=first_text(entry, config.given_name_attribute),
        family_name=first_text(entry, config.family_name_attribute),
        disabled=disabled,
        member_of=texts(entry, "memberOf") if config.member_attribute.lower() == "memberof" else (),
    )


def to_group(
    config: ExternalConfig, dn: str, raw: RawEntry, members: Sequence[str]
) -> ExternalGroup:
    entry = lowered(raw)
    return ExternalGroup(
        external_id=external_id(entry, config.external_id_attribute),
        dn=dn,
        name=first_text(entry, config.group_name_attribute),
        members=tuple(members),
    )


def ranged_values(raw: RawEntry, attribute: str) -> tuple[list[str], int | None]:
    """An attribute's values and, if the server sent only a range of them, where the next starts.

    AD returns at most MaxValRange values (1,500 by default) as `member;range=0-1499`; the
    client asks for `member;range=1500-*` next, until a range ends in `*`.
    """
    wanted = attribute.lower()
    for key, values in raw.items():
        match = _RANGE.fullmatch(key)
        if match and match["attr"].lower() == wanted:
            decoded = [v.decode("utf-8", errors="replace") for v in values]
            high = match["high"]
            return decoded, None if high == "*" else int(high) + 1
    return list(texts(lowered(raw), attribute)), None


def normalize_dn(dn: str) -> str:
    """A DN in a form fit for comparison (RFC 4514): types and values lowercased, no spaces."""
    try:
        parts = ldap.dn.str2dn(dn)
    except ldap.DECODING_ERROR:
        return dn.strip().lower()
    return ",".join(
        "+".join(
            f"{attr.lower()}={ldap.dn.escape_dn_chars(value.lower())}" for attr, value, _ in rdn
        )
        for rdn in parts
    )
