"""Reading an HTTP/1.1 answer off a raw socket, for tests that must send what httpx will not
(a body far past the limit, chunked without end, Expect: 100-continue)."""

from __future__ import annotations

import json
import socket
from typing import Any


def read_response(sock: socket.socket, pending: bytes = b"") -> tuple[int, dict[str, str], Any]:
    """(status, lowercased headers, JSON body or None); an interim 100 Continue is skipped."""
    data = pending
    sock.settimeout(10)
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        assert piece, f"connection closed without an answer: {data!r}"
        data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    if status == 100:  # an interim answer: the real one follows
        return read_response(sock, rest)
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        rest += piece
    return status, headers, json.loads(rest[:length]) if length else None
