"""RFC 4512 §4: the attribute types and object classes Keyhall serves, as one table.

The table drives three things: how filters compare values (each attribute's equality, ordering
and substrings rules, RFC 4517 §4.2), which attributes are operational (returned only for `+` or
by name, RFC 4511 §4.5.1.8), and the `cn=Subschema` entry clients read to discover them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Rule(enum.Enum):
    """How values of an attribute compare (the matching rules of RFC 4517 §4.2 we need)."""

    CASE_IGNORE = "caseIgnoreMatch"
    CASE_IGNORE_IA5 = "caseIgnoreIA5Match"
    CASE_EXACT_IA5 = "caseExactIA5Match"
    OID = "objectIdentifierMatch"
    DN = "distinguishedNameMatch"
    UNIQUE_MEMBER = "uniqueMemberMatch"
    INTEGER = "integerMatch"
    TIME = "generalizedTimeMatch"
    UUID = "UUIDMatch"
    OCTETS = "octetStringMatch"


# Syntax OIDs (RFC 4517 §3.3, RFC 4530 for UUID).
DIRECTORY_STRING = "1.3.6.1.4.1.1466.115.121.1.15"
IA5_STRING = "1.3.6.1.4.1.1466.115.121.1.26"
OID_SYNTAX = "1.3.6.1.4.1.1466.115.121.1.38"
DN_SYNTAX = "1.3.6.1.4.1.1466.115.121.1.12"
NAME_AND_UID = "1.3.6.1.4.1.1466.115.121.1.34"
INTEGER_SYNTAX = "1.3.6.1.4.1.1466.115.121.1.27"
TIME_SYNTAX = "1.3.6.1.4.1.1466.115.121.1.24"
BOOLEAN_SYNTAX = "1.3.6.1.4.1.1466.115.121.1.7"
UUID_SYNTAX = "1.3.6.1.1.16.1"

# The ordering and substrings rules that go with each equality rule, where one exists.
ORDERING = {
    Rule.INTEGER: "integerOrderingMatch",
    Rule.TIME: "generalizedTimeOrderingMatch",
    Rule.UUID: "UUIDOrderingMatch",
}
SUBSTRINGS = {
    Rule.CASE_IGNORE: "caseIgnoreSubstringsMatch",
    Rule.CASE_IGNORE_IA5: "caseIgnoreIA5SubstringsMatch",
    Rule.CASE_EXACT_IA5: "caseExactIA5SubstringsMatch",
}
SYNTAX_NAMES = {
    DIRECTORY_STRING: "Directory String",
    IA5_STRING: "IA5 String",
    OID_SYNTAX: "OID",
    DN_SYNTAX: "DN",
    NAME_AND_UID: "Name And Optional UID",
    INTEGER_SYNTAX: "INTEGER",
    TIME_SYNTAX: "Generalized Time",
    BOOLEAN_SYNTAX: "Boolean",
    UUID_SYNTAX: "UUID",
}


@dataclass(frozen=True, slots=True)
class AttributeType:
    name: str
    oid: str
    syntax: str
    rule: Rule
    single: bool = False
    operational: bool = False

    @property
    def key(self) -> str:
        return self.name.lower()

    @property
    def ordered(self) -> bool:
        return self.rule in ORDERING

    @property
    def has_substrings(self) -> bool:
        return self.rule in SUBSTRINGS

    def description(self) -> str:
        """RFC 4512 §4.1.2 AttributeTypeDescription."""
        parts = [f"( {self.oid} NAME '{self.name}'", f"EQUALITY {self.rule.value}"]
        if self.rule in ORDERING:
            parts.append(f"ORDERING {ORDERING[self.rule]}")
        if self.rule in SUBSTRINGS:
            parts.append(f"SUBSTR {SUBSTRINGS[self.rule]}")
        parts.append(f"SYNTAX {self.syntax}")
        if self.single:
            parts.append("SINGLE-VALUE")
        if self.operational:
            parts.append("NO-USER-MODIFICATION USAGE directoryOperation")
        return " ".join(parts) + " )"


def _a(name: str, oid: str, syntax: str, rule: Rule, **kw: bool) -> AttributeType:
    return AttributeType(name, oid, syntax, rule, **kw)


_DS, _IA5, _INT = DIRECTORY_STRING, IA5_STRING, INTEGER_SYNTAX
_CI, _CII, _CEI = Rule.CASE_IGNORE, Rule.CASE_IGNORE_IA5, Rule.CASE_EXACT_IA5
# Keyhall's own attributes live under an example private arc until one is registered.
_KEYHALL = "1.3.6.1.4.1.99999.1"

ATTRIBUTES: tuple[AttributeType, ...] = (
    _a("objectClass", "2.5.4.0", OID_SYNTAX, Rule.OID),
    _a("cn", "2.5.4.3", _DS, _CI),
    _a("sn", "2.5.4.4", _DS, _CI),
    _a("ou", "2.5.4.11", _DS, _CI),
    _a("o", "2.5.4.10", _DS, _CI),
    _a("dc", "0.9.2342.19200300.100.1.25", _IA5, _CII, single=True),
    _a("description", "2.5.4.13", _DS, _CI),
    _a("givenName", "2.5.4.42", _DS, _CI),
    _a("displayName", "2.16.840.1.113730.3.1.241", _DS, _CI, single=True),
    _a("uid", "0.9.2342.19200300.100.1.1", _DS, _CI),
    _a("mail", "0.9.2342.19200300.100.1.3", _IA5, _CII),
    _a("member", "2.5.4.31", DN_SYNTAX, Rule.DN),
    _a("uniqueMember", "2.5.4.50", NAME_AND_UID, Rule.UNIQUE_MEMBER),
    # RFC 2307 (NIS): POSIX accounts and groups, as SSSD and nss-pam-ldapd read them.
    _a("uidNumber", "1.3.6.1.1.1.1.0", _INT, Rule.INTEGER, single=True),
    _a("gidNumber", "1.3.6.1.1.1.1.1", _INT, Rule.INTEGER, single=True),
    _a("gecos", "1.3.6.1.1.1.1.2", _IA5, _CII, single=True),
    _a("homeDirectory", "1.3.6.1.1.1.1.3", _IA5, _CEI, single=True),
    _a("loginShell", "1.3.6.1.1.1.1.4", _IA5, _CEI, single=True),
    _a("memberUid", "1.3.6.1.1.1.1.12", _IA5, _CEI),
    # Active Directory names many apps are configured for.
    _a("sAMAccountName", "1.2.840.113556.1.4.221", _DS, _CI, single=True),
    _a("userAccountControl", "1.2.840.113556.1.4.8", _INT, Rule.INTEGER, single=True),
    _a("objectCategory", "1.2.840.113556.1.4.782", _DS, _CI, single=True),
    _a("memberOf", "1.2.840.113556.1.2.102", DN_SYNTAX, Rule.DN),
    # Cloudron's names (seed 000): `username` in its user filter, `isadmin: 0|1`.
    _a("username", f"{_KEYHALL}.1", _DS, _CI, single=True),
    _a("isadmin", f"{_KEYHALL}.2", _INT, Rule.INTEGER, single=True),
    # Operational attributes (RFC 4512 §3.4, RFC 4530, RFC 5020).
    _a("entryUUID", "1.3.6.1.1.16.4", UUID_SYNTAX, Rule.UUID, single=True, operational=True),
    _a("entryDN", "1.3.6.1.1.20", DN_SYNTAX, Rule.DN, single=True, operational=True),
    _a("createTimestamp", "2.5.18.1", TIME_SYNTAX, Rule.TIME, single=True, operational=True),
    _a("modifyTimestamp", "2.5.18.2", TIME_SYNTAX, Rule.TIME, single=True, operational=True),
    _a(
        "hasSubordinates",
        "2.5.18.9",
        BOOLEAN_SYNTAX,
        Rule.CASE_IGNORE,
        single=True,
        operational=True,
    ),
    _a("subschemaSubentry", "2.5.18.10", DN_SYNTAX, Rule.DN, single=True, operational=True),
    _a("structuralObjectClass", "2.5.21.9", OID_SYNTAX, Rule.OID, single=True, operational=True),
    # Root DSE (RFC 4512 §5.1) and subschema (§4.2) attributes, all operational.
    _a("namingContexts", "1.3.6.1.4.1.1466.101.120.5", DN_SYNTAX, Rule.DN, operational=True),
    _a("supportedControl", "1.3.6.1.4.1.1466.101.120.13", OID_SYNTAX, Rule.OID, operational=True),
    _a("supportedExtension", "1.3.6.1.4.1.1466.101.120.7", OID_SYNTAX, Rule.OID, operational=True),
    _a("supportedFeatures", "1.3.6.1.4.1.4203.1.3.5", OID_SYNTAX, Rule.OID, operational=True),
    _a("supportedLDAPVersion", "1.3.6.1.4.1.1466.101.120.15", _INT, Rule.INTEGER, operational=True),
    _a("supportedSASLMechanisms", "1.3.6.1.4.1.1466.101.120.14", _DS, _CI, operational=True),
    _a("vendorName", "1.3.6.1.1.4", _DS, Rule.OCTETS, single=True, operational=True),
    _a("vendorVersion", "1.3.6.1.1.5", _DS, Rule.OCTETS, single=True, operational=True),
    _a("attributeTypes", "2.5.21.5", _DS, Rule.OID, operational=True),
    _a("objectClasses", "2.5.21.6", _DS, Rule.OID, operational=True),
    _a("ldapSyntaxes", "1.3.6.1.4.1.1466.101.120.16", _DS, Rule.OID, operational=True),
    _a("matchingRules", "2.5.21.4", _DS, Rule.OID, operational=True),
)

BY_NAME: dict[str, AttributeType] = {a.key: a for a in ATTRIBUTES}
BY_OID: dict[str, AttributeType] = {a.oid: a for a in ATTRIBUTES}
# Short names some clients use for the same types (RFC 4519 §2).
ALIASES = {"commonname": "cn", "surname": "sn", "userid": "uid", "rfc822mailbox": "mail"}
OPERATIONAL = frozenset(a.key for a in ATTRIBUTES if a.operational)


def attribute(name: str) -> AttributeType | None:
    """The type an attribute description names (name, alias or OID; options ignored)."""
    # Every filter item and requested attribute is looked up: remember the spellings clients
    # use (a bounded number of short ones, so a client can't grow the table at will).
    if name in _RESOLVED:
        return _RESOLVED[name]
    key = name.split(";", 1)[0].strip().lower()
    key = ALIASES.get(key, key)
    resolved = BY_NAME.get(key) or BY_OID.get(key)
    if len(_RESOLVED) < _RESOLVED_MAX and len(name) <= _RESOLVED_LENGTH:
        _RESOLVED[name] = resolved
    return resolved


_RESOLVED: dict[str, AttributeType | None] = {}
_RESOLVED_MAX = 4096
_RESOLVED_LENGTH = 64


@dataclass(frozen=True, slots=True)
class ObjectClass:
    name: str
    oid: str
    kind: str  # STRUCTURAL, AUXILIARY or ABSTRACT
    sup: str | None
    must: tuple[str, ...] = ()
    may: tuple[str, ...] = ()

    def description(self) -> str:
        """RFC 4512 §4.1.1 ObjectClassDescription."""
        parts = [f"( {self.oid} NAME '{self.name}'"]
        if self.sup:
            parts.append(f"SUP {self.sup}")
        parts.append(self.kind)
        if self.must:
            parts.append(f"MUST ( {' $ '.join(self.must)} )")
        if self.may:
            parts.append(f"MAY ( {' $ '.join(self.may)} )")
        return " ".join(parts) + " )"


OBJECT_CLASSES: tuple[ObjectClass, ...] = (
    ObjectClass("top", "2.5.6.0", "ABSTRACT", None, ("objectClass",)),
    ObjectClass("person", "2.5.6.6", "STRUCTURAL", "top", ("sn", "cn"), ("description",)),
    ObjectClass("organizationalPerson", "2.5.6.7", "STRUCTURAL", "person", (), ("ou",)),
    ObjectClass(
        "inetOrgPerson",
        "2.16.840.1.113730.3.2.2",
        "STRUCTURAL",
        "organizationalPerson",
        (),
        ("displayName", "givenName", "mail", "uid"),
    ),
    ObjectClass(
        "user",
        "1.2.840.113556.1.5.9",
        "AUXILIARY",
        "top",
        (),
        (
            "sAMAccountName",
            "userAccountControl",
            "objectCategory",
            "memberOf",
            "username",
            "isadmin",
        ),
    ),
    ObjectClass(
        "posixAccount",
        "1.3.6.1.1.1.2.0",
        "AUXILIARY",
        "top",
        ("cn", "uid", "uidNumber", "gidNumber", "homeDirectory"),
        ("loginShell", "gecos", "description"),
    ),
    ObjectClass("groupOfNames", "2.5.6.9", "STRUCTURAL", "top", ("member", "cn"), ("description",)),
    ObjectClass(
        "groupOfUniqueNames",
        "2.5.6.17",
        "STRUCTURAL",
        "top",
        ("uniqueMember", "cn"),
        ("description",),
    ),
    ObjectClass(
        "group",
        "1.2.840.113556.1.5.8",
        "AUXILIARY",
        "top",
        (),
        ("sAMAccountName", "objectCategory"),
    ),
    # RFC 2307bis makes posixGroup auxiliary so it can sit beside groupOfNames.
    ObjectClass(
        "posixGroup",
        "1.3.6.1.1.1.2.2",
        "AUXILIARY",
        "top",
        ("gidNumber",),
        ("memberUid", "description"),
    ),
    ObjectClass("organizationalUnit", "2.5.6.5", "STRUCTURAL", "top", ("ou",), ("description",)),
    ObjectClass("domain", "0.9.2342.19200300.100.4.13", "STRUCTURAL", "top", ("dc",)),
    ObjectClass("organization", "2.5.6.4", "STRUCTURAL", "top", ("o",)),
    ObjectClass("applicationProcess", "2.5.6.11", "STRUCTURAL", "top", ("cn",), ("description",)),
    ObjectClass("extensibleObject", "1.3.6.1.4.1.1466.101.120.111", "AUXILIARY", "top"),
    ObjectClass("subentry", "2.5.17.0", "STRUCTURAL", "top", ("cn",)),
    ObjectClass(
        "subschema",
        "2.5.20.1",
        "AUXILIARY",
        None,
        (),
        ("attributeTypes", "objectClasses", "ldapSyntaxes", "matchingRules"),
    ),
)
OBJECT_CLASS_NAMES = {c.name.lower(): c for c in OBJECT_CLASSES}


def matching_rule_descriptions() -> list[str]:
    """RFC 4512 §4.1.3 MatchingRuleDescription for each rule the attributes use."""
    oids = {
        "caseIgnoreMatch": ("2.5.13.2", DIRECTORY_STRING),
        "caseIgnoreIA5Match": ("1.3.6.1.4.1.1466.109.114.2", IA5_STRING),
        "caseExactIA5Match": ("1.3.6.1.4.1.1466.109.114.1", IA5_STRING),
        "objectIdentifierMatch": ("2.5.13.0", OID_SYNTAX),
        "distinguishedNameMatch": ("2.5.13.1", DN_SYNTAX),
        "uniqueMemberMatch": ("2.5.13.23", NAME_AND_UID),
        "integerMatch": ("2.5.13.14", INTEGER_SYNTAX),
        "integerOrderingMatch": ("2.5.13.15", INTEGER_SYNTAX),
        "generalizedTimeMatch": ("2.5.13.27", TIME_SYNTAX),
        "generalizedTimeOrderingMatch": ("2.5.13.28", TIME_SYNTAX),
        "UUIDMatch": ("1.3.6.1.1.16.2", UUID_SYNTAX),
        "UUIDOrderingMatch": ("1.3.6.1.1.16.3", UUID_SYNTAX),
        "octetStringMatch": ("2.5.13.17", "1.3.6.1.4.1.1466.115.121.1.40"),
        "caseIgnoreSubstringsMatch": ("2.5.13.4", "1.3.6.1.4.1.1466.115.121.1.58"),
        "caseIgnoreIA5SubstringsMatch": (
            "1.3.6.1.4.1.1466.109.114.3",
            "1.3.6.1.4.1.1466.115.121.1.58",
        ),
        "caseExactIA5SubstringsMatch": ("1.3.6.1.4.1.4203.1.2.1", "1.3.6.1.4.1.1466.115.121.1.58"),
    }
    return [f"( {oid} NAME '{name}' SYNTAX {syntax} )" for name, (oid, syntax) in oids.items()]


def syntax_descriptions() -> list[str]:
    return [f"( {oid} DESC '{name}' )" for oid, name in SYNTAX_NAMES.items()]
