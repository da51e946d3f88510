"""uvicorn's httptools protocol with a cap on a request's head (request line and headers).

httptools parses several times faster than h11, but unlike h11 it takes a head of any
size: an 8 MB header would be read into memory whole. This protocol answers 431 and
closes the connection once a head still incomplete has taken more than MAX_HEAD_BYTES
(h11's 16 KiB). Bytes are counted per read: the read in which a request begins is not
counted (it may end the previous request's body), so a head costs at most the cap and
one read. Bodies are capped by body_limit.py; serve.py runs a service with this protocol.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 16 * 1024
REFUSAL = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 31\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"request headers exceed 16 KiB\r\n"
)


class CappedHttpToolsProtocol(HttpToolsProtocol):
    """`uvicorn.run(..., http=CappedHttpToolsProtocol)`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_head = False  # a request has begun and its headers are not complete
        self.began_in_this_read = False
        self.head_bytes = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head, self.began_in_this_read, self.head_bytes = True, True, 0

    def on_headers_complete(self) -> None:
        self.in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        self.began_in_this_read = False
        super().data_received(data)
        if not self.in_head or self.began_in_this_read or self.transport.is_closing():
            return
        self.head_bytes += len(data)
        if self.head_bytes > MAX_HEAD_BYTES:
            self.in_head = False
            self.transport.write(REFUSAL)
            self.transport.close()
