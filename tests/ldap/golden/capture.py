"""Record the LDAP PDUs a real client sends, for the golden fixtures in ``golden_pdus.py``.

Run ``python tests/ldap/golden/capture.py PORT`` and point a client at
``ldap://127.0.0.1:PORT``; every PDU received is printed as hex. The listener answers each
request with a canned success response so the client carries on to its next operation.
Not part of the test suite: it is how the fixtures were produced.
"""

from __future__ import annotations

import socket
import sys

# LDAPResult(success, "", "") wrapped in the response op matching each request tag.
RESPONSE_TAG = {
    0x60: 0x61,  # bind
    0x63: 0x65,  # search -> searchResDone
    0x66: 0x67,  # modify
    0x68: 0x69,  # add
    0x4A: 0x6B,  # del
    0x6C: 0x6D,  # modDN
    0x6E: 0x6F,  # compare -> result success
    0x77: 0x78,  # extended
}


def read_pdu(conn: socket.socket) -> bytes:
    head = conn.recv(2, socket.MSG_WAITALL)
    if len(head) < 2:
        return b""
    length = head[1]
    extra = b""
    if length & 0x80:
        extra = conn.recv(length & 0x7F, socket.MSG_WAITALL)
        length = int.from_bytes(extra, "big")
    return head + extra + conn.recv(length, socket.MSG_WAITALL)


def respond(conn: socket.socket, pdu: bytes) -> None:
    # Message ID is a short INTEGER right after the outer SEQUENCE header.
    offset = 2 + (pdu[1] & 0x7F if pdu[1] & 0x80 else 0)
    id_tlv = pdu[offset : offset + 2 + pdu[offset + 1]]
    op_tag = pdu[offset + len(id_tlv)]
    if op_tag not in RESPONSE_TAG:
        return
    body = bytes([RESPONSE_TAG[op_tag], 7, 0x0A, 1, 0, 4, 0, 4, 0])
    conn.sendall(bytes([0x30, len(id_tlv) + len(body)]) + id_tlv + body)


def main() -> None:
    server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
    while True:
        conn, _ = server.accept()
        with conn:
            while pdu := read_pdu(conn):
                print(pdu.hex(), flush=True)
                respond(conn, pdu)


if __name__ == "__main__":
    main()
