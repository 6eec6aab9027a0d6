"""RFC 2696 Simple Paged Results control values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.ldap import golden_pdus as golden

from keyhall.ldap.controls import (
    PAGED_RESULTS_OID,
    PagedResults,
    decode_paged_results,
    encode_paged_results,
    paged_results_control,
)
from keyhall.ldap.messages import decode_message
from keyhall.ldap.result_codes import ProtocolError


def paged_control_value(pdu: bytes) -> bytes | None:
    message, _ = decode_message(pdu, max_size=1 << 16, max_depth=8)
    assert message is not None
    (control,) = message.controls
    assert control.oid == PAGED_RESULTS_OID
    return control.value


def test_ldapsearch_first_page_request() -> None:
    # ldapsearch -E pr=500/noprompt: page size 500, empty cookie.
    value = paged_control_value(golden.LDAPSEARCH_PAGED_SEARCH)
    assert decode_paged_results(value) == PagedResults(500, b"")


def test_python_ldap_request_with_cookie() -> None:
    value = paged_control_value(golden.PYTHON_LDAP_PAGED_SEARCH)
    assert decode_paged_results(value) == PagedResults(100, b"\x00\x01opaque")
    assert value == encode_paged_results(PagedResults(100, b"\x00\x01opaque"))


def test_response_control() -> None:
    control = paged_results_control(PagedResults(0, b"next"))
    assert control.oid == PAGED_RESULTS_OID
    assert not control.critical
    assert control.value == bytes.fromhex("300902010004046e657874")


@given(st.integers(min_value=0, max_value=2**31 - 1), st.binary(max_size=64))
def test_round_trip(size: int, cookie: bytes) -> None:
    paged = PagedResults(size, cookie)
    assert decode_paged_results(encode_paged_results(paged)) == paged


@pytest.mark.parametrize(
    "hex_value",
    [
        None,
        "",
        "3000",
        "30030201ff",
        "3005020100",
        "3006020100040000",
        "040100",
        "3005020100040000",
    ],
)
def test_malformed_values_are_protocol_errors(hex_value: str | None) -> None:
    value = None if hex_value is None else bytes.fromhex(hex_value)
    with pytest.raises(ProtocolError):
        decode_paged_results(value)
