"""RFC 4511 §4.1-§4.14: the LDAPMessage envelope and protocol operations as frozen dataclasses.

Pure data; :mod:`keyhall.ldap.messages` encodes and decodes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TypeAlias

from keyhall.ldap.filters import Filter
from keyhall.ldap.result_codes import ResultCode

MAX_INT = 2**31 - 1  # RFC 4511 §4.1.1: maxInt

# PartialAttribute (RFC 4511 §4.1.7): a description and its values, possibly none.
Attribute: TypeAlias = tuple[str, tuple[bytes, ...]]


class Scope(IntEnum):
    BASE = 0
    ONE = 1
    SUB = 2
    CHILDREN = 3  # draft-sermersheim-ldap-subordinate-scope, sent by OpenLDAP clients


class DerefAliases(IntEnum):
    NEVER = 0
    IN_SEARCHING = 1
    FINDING_BASE = 2
    ALWAYS = 3


class ModifyOperation(IntEnum):
    ADD = 0
    DELETE = 1
    REPLACE = 2
    INCREMENT = 3  # RFC 4525


@dataclass(frozen=True, slots=True)
class Control:
    oid: str
    critical: bool = False
    value: bytes | None = None


@dataclass(frozen=True, slots=True)
class BindRequest:
    """Simple bind when ``sasl_mechanism`` is None, else SASL (RFC 4511 §4.2)."""

    version: int
    name: str
    password: bytes = b""
    sasl_mechanism: str | None = None
    sasl_credentials: bytes | None = None


@dataclass(frozen=True, slots=True)
class UnbindRequest:
    pass


@dataclass(frozen=True, slots=True)
class SearchRequest:
    base: str
    scope: Scope
    deref: DerefAliases
    size_limit: int
    time_limit: int
    types_only: bool
    filter: Filter
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Modification:
    operation: ModifyOperation
    attribute: Attribute


@dataclass(frozen=True, slots=True)
class ModifyRequest:
    dn: str
    changes: tuple[Modification, ...]


@dataclass(frozen=True, slots=True)
class AddRequest:
    dn: str
    attributes: tuple[Attribute, ...]


@dataclass(frozen=True, slots=True)
class DelRequest:
    dn: str


@dataclass(frozen=True, slots=True)
class ModifyDNRequest:
    dn: str
    new_rdn: str
    delete_old_rdn: bool
    new_superior: str | None = None


@dataclass(frozen=True, slots=True)
class CompareRequest:
    dn: str
    attribute: str
    value: bytes


@dataclass(frozen=True, slots=True)
class AbandonRequest:
    message_id: int


@dataclass(frozen=True, slots=True)
class ExtendedRequest:
    oid: str
    value: bytes | None = None


@dataclass(frozen=True, slots=True)
class LdapResult:
    """RFC 4511 §4.1.9: the fields every response operation starts with."""

    result_code: ResultCode
    matched_dn: str = ""
    diagnostic_message: str = ""
    referral: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BindResponse(LdapResult):
    server_sasl_credentials: bytes | None = None


@dataclass(frozen=True, slots=True)
class SearchResultEntry:
    dn: str
    attributes: tuple[Attribute, ...]


@dataclass(frozen=True, slots=True)
class SearchResultReference:
    uris: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SearchResultDone(LdapResult):
    pass


@dataclass(frozen=True, slots=True)
class ModifyResponse(LdapResult):
    pass


@dataclass(frozen=True, slots=True)
class AddResponse(LdapResult):
    pass


@dataclass(frozen=True, slots=True)
class DelResponse(LdapResult):
    pass


@dataclass(frozen=True, slots=True)
class ModifyDNResponse(LdapResult):
    pass


@dataclass(frozen=True, slots=True)
class CompareResponse(LdapResult):
    pass


@dataclass(frozen=True, slots=True)
class ExtendedResponse(LdapResult):
    response_name: str | None = None
    response_value: bytes | None = None


@dataclass(frozen=True, slots=True)
class IntermediateResponse:
    response_name: str | None = None
    response_value: bytes | None = None


ProtocolOp: TypeAlias = (
    BindRequest
    | UnbindRequest
    | SearchRequest
    | ModifyRequest
    | AddRequest
    | DelRequest
    | ModifyDNRequest
    | CompareRequest
    | AbandonRequest
    | ExtendedRequest
    | LdapResult
    | SearchResultEntry
    | SearchResultReference
    | IntermediateResponse
)


@dataclass(frozen=True, slots=True)
class LdapMessage:
    message_id: int
    op: ProtocolOp
    controls: tuple[Control, ...] = ()
