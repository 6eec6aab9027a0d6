"""Fuzzing the sans-IO decoder: hostile bytes may only ever raise the codec's own errors.

Every input must end in one of three ways: ``(None, 0)`` (need more bytes), a message that
re-encodes to something decoding to the same message, or a ``ProtocolError``. Nothing else
may escape (hypothesis fails the test on any other exception), whatever the limits say.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.ldap import golden_pdus as golden

from keyhall.ldap import ber
from keyhall.ldap.filters import DEPTH_LIMIT
from keyhall.ldap.messages import (
    LdapMessage,
    MessageTooLarge,
    ProtocolError,
    decode_message,
    encode_message,
)

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(buf: bytes, max_size: int = 4096, max_depth: int = 16) -> LdapMessage | None:
    """Decode ``buf`` and assert the decoder kept its contract."""
    try:
        message, consumed = decode_message(buf, max_size=max_size, max_depth=max_depth)
    except ProtocolError:
        return None
    if message is None:
        assert consumed == 0
        return None
    assert 0 < consumed <= min(len(buf), max_size)
    again, _ = decode_message(encode_message(message), max_size=1 << 24, max_depth=max_depth)
    assert again == message
    return message


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes(buf: bytes) -> None:
    check(buf)


@FUZZ
@given(st.binary(max_size=256))
def test_random_bytes_inside_a_valid_envelope(body: bytes) -> None:
    check(ber.encode_tlv(ber.SEQUENCE, ber.encode_integer(1) + body))


@FUZZ
@given(st.sampled_from(golden.ALL), st.data())
def test_mutated_golden_pdus(pdu: bytes, data: st.DataObject) -> None:
    mutated = bytearray(pdu)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(mutated) - 1))
        action = data.draw(st.sampled_from(["flip", "set", "insert", "delete"]))
        if action == "flip":
            mutated[at] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "set":
            mutated[at] = data.draw(st.integers(0, 255))
        elif action == "insert":
            mutated.insert(at, data.draw(st.integers(0, 255)))
        elif len(mutated) > 1:
            del mutated[at]
    check(bytes(mutated))


@FUZZ
@given(st.sampled_from(golden.ALL), st.integers(0, 200))
def test_truncated_golden_pdus_wait_for_more(pdu: bytes, cut: int) -> None:
    assert check(pdu[: min(cut, len(pdu) - 1)]) is None
    assert check(pdu) is not None


@FUZZ
@given(st.sampled_from(golden.ALL), st.integers(0, 64), st.integers(0, 32))
def test_limits_are_respected(pdu: bytes, max_size: int, max_depth: int) -> None:
    # Golden PDUs are valid, so the only possible refusals are the two limits.
    if len(pdu) > max_size:
        with pytest.raises(MessageTooLarge):
            decode_message(pdu, max_size=max_size, max_depth=max_depth)
        return
    try:
        decode_message(pdu, max_size=max_size, max_depth=max_depth)
    except ProtocolError as error:
        refused: ProtocolError | None = error
    else:
        refused = None
    assert refused is None or "deep" in refused.message


@FUZZ
@given(st.integers(5, 2**32 - 1), st.sampled_from([0x81, 0x82, 0x83, 0x84]))
def test_huge_declared_lengths_never_buffer(length: int, form: int) -> None:
    octets = form & 0x7F
    length = max(length % 256**octets, 1)  # at least one body byte is still missing
    header = bytes((ber.SEQUENCE, form)) + length.to_bytes(octets, "big")
    if 2 + octets + length > 4096:
        with pytest.raises(MessageTooLarge):
            decode_message(header, max_size=4096, max_depth=8)
    else:
        assert decode_message(header, max_size=4096, max_depth=8) == (None, 0)


def test_huge_inner_length_is_a_protocol_error() -> None:
    body = ber.encode_integer(1) + bytes.fromhex("6384ffffffff")
    with pytest.raises(ProtocolError, match="overruns"):
        decode_message(ber.encode_tlv(ber.SEQUENCE, body), max_size=4096, max_depth=8)


def nested_filter(depth: int) -> bytes:
    """A SearchRequest whose filter is ``depth`` nested Nots around a presence test."""
    item = ber.encode_string("cn", 0x87)
    for _ in range(depth):
        item = ber.encode_tlv(0xA2, item)
    search = ber.encode_tlv(
        0x63,
        ber.encode_string("")
        + ber.encode_enumerated(0)
        + ber.encode_enumerated(0)
        + ber.encode_integer(0)
        + ber.encode_integer(0)
        + ber.encode_boolean(False)
        + item
        + ber.encode_tlv(ber.SEQUENCE, b""),
    )
    return ber.encode_tlv(ber.SEQUENCE, ber.encode_integer(1) + search)


@pytest.mark.parametrize("depth", [DEPTH_LIMIT + 1, 3000])
def test_deeply_nested_filters_stop_at_the_limit(depth: int) -> None:
    # 3000 levels would blow Python's recursion limit if the decoder did not stop early.
    with pytest.raises(ProtocolError, match="deep"):
        decode_message(nested_filter(depth), max_size=1 << 20, max_depth=DEPTH_LIMIT)
    assert decode_message(nested_filter(DEPTH_LIMIT), max_size=1 << 20, max_depth=DEPTH_LIMIT)[0]


def test_deeply_nested_sequences_are_rejected() -> None:
    item = b""
    for _ in range(3000):
        item = ber.encode_tlv(ber.SEQUENCE, item)
    with pytest.raises(ProtocolError):
        decode_message(item, max_size=1 << 20, max_depth=DEPTH_LIMIT)
    with pytest.raises(ProtocolError, match="deep"):
        ber.decode_element(item, max_depth=200)


def test_unsupported_max_depth_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="max_depth"):
        decode_message(golden.LDAPSEARCH_SEARCH, max_size=4096, max_depth=DEPTH_LIMIT + 1)


@FUZZ
@given(st.lists(st.sampled_from(golden.ALL), min_size=1, max_size=6), st.data())
def test_stream_split_anywhere_yields_the_same_messages(
    pdus: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(pdus)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    buffer = bytearray()
    decoded = []
    for start, stop in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        buffer += stream[start:stop]
        while True:
            message, consumed = decode_message(buffer, max_size=4096, max_depth=8)
            if message is None:
                break
            decoded.append(message)
            del buffer[:consumed]
    assert not buffer
    assert [encode_message(m) for m in decoded] == pdus
