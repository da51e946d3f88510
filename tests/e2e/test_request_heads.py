"""The Python services run on httptools, which takes a request head of any size: both cap
it (promptpipe_service.http_head), as h11 did, and a large body is not mistaken for a head."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from stack import NativeStack

PIECE = b"a" * 8192

pytestmark = pytest.mark.e2e


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=10)
    return sock


def _answer(sock: socket.socket) -> bytes:
    """What the server answered, up to the end of its head (b"" if it only closed)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@pytest.mark.parametrize("service", ["agent", "mock_whatsapp"])
def test_a_head_that_never_ends_is_refused_and_the_service_carries_on(
    stack: NativeStack, service: str
) -> None:
    url = stack.url(service)
    with _connect(url) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sock.settimeout(0.2)
        refused = b""
        # Up to 1 MiB of one header, never ended: without a cap the service would read it
        # all and wait for more.
        for _ in range(128):
            try:
                sock.sendall(PIECE)
                refused = _answer(sock)
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                refused = b"reset"  # it closed while we were still writing
            break
    assert refused.startswith(b"HTTP/1.1 431 ") or refused == b"reset", refused[:200]
    with _connect(url) as sock:  # the next client is served as usual
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Fine: " + PIECE + b"\r\n\r\n")
        assert _answer(sock).startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize(
    ("service", "path"), [("agent", "/process-message"), ("mock_whatsapp", "/_mock/faults")]
)
def test_a_large_body_sent_with_its_head_is_not_counted_as_head(
    stack: NativeStack, service: str, path: str
) -> None:
    body = b'{"x": "' + b"a" * 600_000 + b'"}'
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with _connect(stack.url(service)) as sock:
        sock.sendall(head + body)  # one write: the first reads hold the head and body
        answer = _answer(sock)
    status = int(answer.split(b" ", 2)[1])
    # Refused for what the body says (no token, not a fault), never for its size.
    assert status in (400, 401, 422), answer[:300]
