"""Vendor presets: each provider's attribute names, filters and quirks, as data.

A preset fills the keys an administrator has not set; it never overrides a stored value.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Provider(enum.StrEnum):
    GENERIC = "generic"
    ACTIVE_DIRECTORY = "ad"
    OPENLDAP = "openldap"
    KEYHALL = "keyhall"
    CLOUDRON = "cloudron"
    JUMPCLOUD = "jumpcloud"
    OKTA = "okta"


@dataclass(frozen=True, slots=True)
class Preset:
    values: dict[str, str]
    passes_2fa_through: bool = False
    """The upstream checks a TOTP appended to the bind DN as `+totptoken=`."""
    email_login_attributes: tuple[str, ...] = field(default_factory=tuple)
    """Besides the email attribute, attributes a login with '@' may match (AD's UPN)."""


_INET_ORG_PERSON = {
    "users_filter": "(objectClass=inetOrgPerson)",
    "username_attribute": "uid",
    "email_attribute": "mail",
    "display_name_attribute": "cn",
    "given_name_attribute": "givenName",
    "family_name_attribute": "sn",
    "external_id_attribute": "entryUUID",
    "groups_filter": "(objectClass=groupOfNames)",
    "group_name_attribute": "cn",
    "member_attribute": "member",
}

PRESETS: dict[Provider, Preset] = {
    Provider.GENERIC: Preset(_INET_ORG_PERSON),
    Provider.OPENLDAP: Preset(
        {
            **_INET_ORG_PERSON,
            # ppolicy overlay: a locked account carries pwdAccountLockedTime.
            "disabled_attribute": "pwdAccountLockedTime",
        }
    ),
    Provider.ACTIVE_DIRECTORY: Preset(
        {
            "users_filter": "(&(objectClass=user)(objectCategory=person))",
            "username_attribute": "sAMAccountName",
            "email_attribute": "mail",
            "display_name_attribute": "displayName",
            "given_name_attribute": "givenName",
            "family_name_attribute": "sn",
            "external_id_attribute": "objectGUID",
            # MS-ADTS 2.2.16: bit 0x2 of userAccountControl is ACCOUNTDISABLE.
            "disabled_attribute": "userAccountControl",
            "expires_attribute": "accountExpires",
            "groups_filter": "(objectClass=group)",
            "group_name_attribute": "cn",
            "member_attribute": "member",
        },
        email_login_attributes=("userPrincipalName",),
    ),
    Provider.KEYHALL: Preset(
        {
            **_INET_ORG_PERSON,
            # Keyhall's own tree: cn is the username, the display name is displayName.
            "display_name_attribute": "displayName",
        },
        passes_2fa_through=True,
    ),
    Provider.CLOUDRON: Preset(
        {
            "users_filter": "(objectClass=user)",
            "username_attribute": "username",
            "email_attribute": "mail",
            "display_name_attribute": "displayName",
            "given_name_attribute": "givenName",
            "family_name_attribute": "sn",
            "external_id_attribute": "uid",
            "groups_filter": "(objectClass=group)",
            "group_name_attribute": "cn",
            "member_attribute": "member",
        },
        passes_2fa_through=True,
    ),
    Provider.JUMPCLOUD: Preset(
        {
            **_INET_ORG_PERSON,
            "url": "ldaps://ldap.jumpcloud.com:636",
            "users_filter": "(objectClass=inetOrgPerson)",
        }
    ),
    Provider.OKTA: Preset(
        {
            **_INET_ORG_PERSON,
            "users_filter": "(objectClass=inetOrgPerson)",
            # Okta's LDAP interface exposes the Okta user id as uniqueIdentifier.
            "external_id_attribute": "uniqueIdentifier",
            "groups_filter": "(objectClass=groupOfUniqueNames)",
            "member_attribute": "uniqueMember",
        }
    ),
}
