"""RFC 4511 §4.1.9: LDAP result codes, and the exceptions that carry them.

Every error the codec raises is an :class:`LdapError`, so a caller can always turn it into a
wire ``LDAPResult``. :class:`ProtocolError` marks input that cannot be parsed: RFC 4511 §4.1.1
says the server then sends a Notice of Disconnection and closes the session.
"""

from __future__ import annotations

from enum import IntEnum


class ResultCode(IntEnum):
    """``resultCode`` of an ``LDAPResult`` (RFC 4511 §4.1.9 and Appendix A; RFC 3909)."""

    SUCCESS = 0
    OPERATIONS_ERROR = 1
    PROTOCOL_ERROR = 2
    TIME_LIMIT_EXCEEDED = 3
    SIZE_LIMIT_EXCEEDED = 4
    COMPARE_FALSE = 5
    COMPARE_TRUE = 6
    AUTH_METHOD_NOT_SUPPORTED = 7
    STRONGER_AUTH_REQUIRED = 8
    REFERRAL = 10
    ADMIN_LIMIT_EXCEEDED = 11
    UNAVAILABLE_CRITICAL_EXTENSION = 12
    CONFIDENTIALITY_REQUIRED = 13
    SASL_BIND_IN_PROGRESS = 14
    NO_SUCH_ATTRIBUTE = 16
    UNDEFINED_ATTRIBUTE_TYPE = 17
    INAPPROPRIATE_MATCHING = 18
    CONSTRAINT_VIOLATION = 19
    ATTRIBUTE_OR_VALUE_EXISTS = 20
    INVALID_ATTRIBUTE_SYNTAX = 21
    NO_SUCH_OBJECT = 32
    ALIAS_PROBLEM = 33
    INVALID_DN_SYNTAX = 34
    ALIAS_DEREFERENCING_PROBLEM = 36
    INAPPROPRIATE_AUTHENTICATION = 48
    INVALID_CREDENTIALS = 49
    INSUFFICIENT_ACCESS_RIGHTS = 50
    BUSY = 51
    UNAVAILABLE = 52
    UNWILLING_TO_PERFORM = 53
    LOOP_DETECT = 54
    NAMING_VIOLATION = 64
    OBJECT_CLASS_VIOLATION = 65
    NOT_ALLOWED_ON_NON_LEAF = 66
    NOT_ALLOWED_ON_RDN = 67
    ENTRY_ALREADY_EXISTS = 68
    OBJECT_CLASS_MODS_PROHIBITED = 69
    AFFECTS_MULTIPLE_DSAS = 71
    OTHER = 80
    # RFC 3909 §2: the Cancel operation's codes.
    CANCELED = 118
    NO_SUCH_OPERATION = 119
    TOO_LATE = 120
    CANNOT_CANCEL = 121


class LdapError(Exception):
    """An operation failed with ``code``; ``message`` becomes the ``diagnosticMessage``."""

    def __init__(self, code: ResultCode, message: str = "", matched_dn: str = "") -> None:
        super().__init__(message or code.name)
        self.code = code
        self.message = message
        self.matched_dn = matched_dn


class ProtocolError(LdapError):
    """The peer sent bytes that are not a valid LDAPv3 PDU (RFC 4511 §4.1.1)."""

    def __init__(self, message: str) -> None:
        super().__init__(ResultCode.PROTOCOL_ERROR, message)


class MessageTooLarge(ProtocolError):
    """A PDU's declared length exceeds the configured ``max_size``; close the connection.

    Raised as soon as the header is buffered, before the body arrives, so a peer cannot make
    the server buffer an arbitrarily long message.
    """

    def __init__(self, size: int, max_size: int) -> None:
        super().__init__(f"message of {size} bytes exceeds the {max_size}-byte limit")
        self.size = size
        self.max_size = max_size
