"""RFC 2696: the Simple Paged Results control, plus the OIDs of the controls and extended
operations Keyhall's LDAP front knows about."""

from __future__ import annotations

from dataclasses import dataclass

from keyhall.ldap import ber
from keyhall.ldap.operations import MAX_INT, Control
from keyhall.ldap.result_codes import ProtocolError

PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"  # RFC 2696
MANAGE_DSA_IT_OID = "2.16.840.1.113730.3.4.2"  # RFC 3296
WHO_AM_I_OID = "1.3.6.1.4.1.4203.1.11.3"  # RFC 4532
START_TLS_OID = "1.3.6.1.4.1.1466.20037"  # RFC 4511 §4.14
NOTICE_OF_DISCONNECTION_OID = "1.3.6.1.4.1.1466.20036"  # RFC 4511 §4.4.1

SUPPORTED_CONTROLS = (PAGED_RESULTS_OID, MANAGE_DSA_IT_OID)
SUPPORTED_EXTENSIONS = (WHO_AM_I_OID, START_TLS_OID)


@dataclass(frozen=True, slots=True)
class PagedResults:
    """``realSearchControlValue``: in a request ``size`` is the page size, in a response the
    server's estimate of the total (0 if unknown); an empty ``cookie`` ends the paging."""

    size: int
    cookie: bytes = b""


def decode_paged_results(value: bytes | None) -> PagedResults:
    """Decode the control value; a malformed one is a protocol error (RFC 2696 §3)."""
    if value is None:
        raise ProtocolError("paged results control without a value")
    start, stop = ber.read_expected(value, 0, len(value), ber.SEQUENCE)
    ber.expect_end(stop, len(value))
    size, start = ber.read_integer(value, start, stop)
    if not 0 <= size <= MAX_INT:
        raise ProtocolError("paged results size out of range")
    cookie, start = ber.read_octets(value, start, stop)
    ber.expect_end(start, stop)
    return PagedResults(size, cookie)


def encode_paged_results(paged: PagedResults) -> bytes:
    return ber.encode_sequence(
        ber.SEQUENCE, ber.encode_integer(paged.size), ber.encode_octets(paged.cookie)
    )


def paged_results_control(paged: PagedResults, *, critical: bool = False) -> Control:
    """The control to attach to a SearchResultDone (RFC 2696 §3: never critical there)."""
    return Control(PAGED_RESULTS_OID, critical, encode_paged_results(paged))
