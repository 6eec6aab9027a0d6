"""X.690 BER primitives as LDAP restricts them (RFC 4511 §5.1)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyhall.ldap import ber
from keyhall.ldap.result_codes import ProtocolError


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, "020100"),
        (127, "02017f"),
        (128, "02020080"),
        (256, "02020100"),
        (-1, "0201ff"),
        (-128, "020180"),
        (-129, "0202ff7f"),
        (2**31 - 1, "02047fffffff"),
    ],
)
def test_integer_encoding_is_minimal_twos_complement(value: int, encoded: str) -> None:
    raw = bytes.fromhex(encoded)
    assert ber.encode_integer(value) == raw
    assert ber.read_integer(raw, 0, len(raw)) == (value, len(raw))


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_integer_round_trip(value: int) -> None:
    raw = ber.encode_integer(value)
    assert ber.read_integer(raw, 0, len(raw)) == (value, len(raw))


@pytest.mark.parametrize(
    ("length", "encoded"),
    [(0, "00"), (127, "7f"), (128, "8180"), (255, "81ff"), (256, "820100"), (70000, "83011170")],
)
def test_length_forms(length: int, encoded: str) -> None:
    assert ber.encode_length(length) == bytes.fromhex(encoded)
    tlv = ber.encode_tlv(ber.OCTET_STRING, b"x" * length)
    assert tlv[1:].startswith(bytes.fromhex(encoded))
    assert ber.read_octets(tlv, 0, len(tlv)) == (b"x" * length, len(tlv))


def test_non_minimal_long_form_length_is_accepted() -> None:
    # Active Directory sends every length as 0x84 + four octets; that is valid BER.
    raw = bytes.fromhex("048400000002") + b"hi"
    assert ber.read_octets(raw, 0, len(raw)) == (b"hi", len(raw))


def test_boolean_any_nonzero_is_true_and_true_encodes_as_ff() -> None:
    assert ber.read_boolean(b"\x01\x01\x01", 0, 3) == (True, 3)
    assert ber.read_boolean(b"\x01\x01\x00", 0, 3) == (False, 3)
    assert ber.encode_boolean(True) == b"\x01\x01\xff"


def test_null_and_enumerated() -> None:
    assert ber.encode_null() == b"\x05\x00"
    assert ber.read_null(b"\x05\x00", 0, 2) == 2
    assert ber.encode_enumerated(2) == b"\x0a\x01\x02"
    assert ber.read_integer(b"\x0a\x01\x02", 0, 3, ber.ENUMERATED) == (2, 3)


def test_tag_helpers() -> None:
    assert ber.application(3, constructed=True) == 0x63
    assert ber.application(2, constructed=False) == 0x42
    assert ber.context(0) == 0x80
    assert ber.context(3, constructed=True) == 0xA3
    assert ber.is_constructed(0x30)
    assert not ber.is_constructed(0x04)


Reader = Callable[[bytes, int, int], object]


@pytest.mark.parametrize(
    ("reader", "hex_data"),
    [
        pytest.param(ber.read_octets, "04", id="no length"),
        pytest.param(ber.read_octets, "0403ab", id="content overruns"),
        pytest.param(ber.read_octets, "0480", id="indefinite length"),
        pytest.param(ber.read_octets, "0485000000000100", id="five length octets"),
        pytest.param(ber.read_octets, "0482ab", id="truncated length"),
        pytest.param(ber.read_octets, "1f0100", id="multi-byte tag"),
        pytest.param(ber.read_octets, "2403040161", id="constructed string, RFC 4511 5.1"),
        pytest.param(ber.read_boolean, "0100", id="empty boolean"),
        pytest.param(ber.read_boolean, "01020000", id="two-octet boolean"),
        pytest.param(ber.read_integer, "0200", id="empty integer"),
        pytest.param(ber.read_integer, "0209010000000000000000", id="nine-octet integer"),
        pytest.param(ber.read_null, "050100", id="NULL with content"),
    ],
)
def test_malformed_elements_raise_protocol_error(reader: Reader, hex_data: str) -> None:
    raw = bytes.fromhex(hex_data)
    with pytest.raises(ProtocolError):
        reader(raw, 0, len(raw))


def test_wrong_tag_is_reported() -> None:
    with pytest.raises(ProtocolError, match="expected BER tag 0x04, found 0x02"):
        ber.read_octets(b"\x02\x01\x00", 0, 3)


def test_invalid_utf8_string_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="UTF-8"):
        ber.read_string(b"\x04\x01\xff", 0, 3)


def test_trailing_data_check() -> None:
    ber.expect_end(3, 3)
    with pytest.raises(ProtocolError):
        ber.expect_end(2, 3)


def elements(max_leaves: int = 20) -> st.SearchStrategy[ber.Element]:
    primitive_tags = st.sampled_from([0x01, 0x02, 0x04, 0x0A, 0x80, 0x87, 0x42])
    constructed_tags = st.sampled_from([0x30, 0x31, 0x63, 0xA0, 0xA3])
    leaves = st.builds(ber.Element, primitive_tags, st.binary(max_size=300))
    return st.recursive(
        leaves,
        lambda children: st.builds(
            ber.Element, constructed_tags, st.lists(children, max_size=5).map(tuple)
        ),
        max_leaves=max_leaves,
    )


@given(elements())
def test_element_tree_round_trip(element: ber.Element) -> None:
    raw = ber.encode_element(element)
    assert ber.decode_element(raw, max_depth=64) == (element, len(raw))


def test_element_depth_limit() -> None:
    raw = b"\x04\x00"
    for _ in range(10):
        raw = ber.encode_tlv(ber.SEQUENCE, raw)
    assert ber.decode_element(raw, max_depth=10)[1] == len(raw)
    with pytest.raises(ProtocolError, match="deep"):
        ber.decode_element(raw, max_depth=9)
