"""One consumer of mock_whatsapp's event stream per load process, feeding a `ReplyBook`.

Participants under load never poll their chats: this follows `GET /_mock/events`
(Server-Sent Events, read with httpx-sse) in one background thread and hands every event
to the book, which wakes the participant waiting for that reply. Under Locust the thread
is a greenlet (gevent patches threading and sockets), so a process of hundreds of
participants holds one stream, not hundreds.

It asks only for the kinds the book reads (`KINDS`): a webhook event carries its whole
payload, and parsing those was about a seventh of the driver's CPU.

It starts at the mock's newest event (the past is not this run's business) and, when the
connection drops or the mock ends it (a listener that falls far behind is cut off),
resumes after the last event it received, so nothing the mock still holds is missed.
"""

from __future__ import annotations

import logging
import threading

import httpx
from httpx_sse import connect_sse

from promptpipe_simulator.core.events import event_from_sse
from promptpipe_simulator.core.replies import ReplyBook

log = logging.getLogger(__name__)

# The mock sends a heartbeat comment every 15 s; a read silent for longer is a dead link.
READ_TIMEOUT_SECONDS = 45.0
RETRY_SECONDS = 0.2
MAX_RETRY_SECONDS = 2.0
# The kinds ReplyBook.take reads: the mock sends only these (`?kinds=`), a fraction of
# its events under load (statuses and webhook attempts are most of them).
KINDS = "message.inbound,message.outbound,clock.changed"


class ReplyStream:
    """Follows the mock's events into `book` from `start()` until `stop()`."""

    def __init__(self, base_url: str, book: ReplyBook, http: httpx.Client | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.book = book
        timeout = httpx.Timeout(5.0, read=READ_TIMEOUT_SECONDS)
        self.http = http or httpx.Client(timeout=timeout)
        self.last_seq = 0  # the last event taken; 0: none yet
        self.connected = threading.Event()
        self.stopping = threading.Event()
        self.events = 0  # taken so far, for the record
        self.thread: threading.Thread | None = None

    def start(self, wait: float = 10.0) -> None:
        """Start following; returns once the stream is open (or after `wait` seconds), so
        that no participant speaks before its reply can be seen."""
        self.thread = threading.Thread(target=self._run, name="reply-stream", daemon=True)
        self.thread.start()
        if not self.connected.wait(wait):
            log.warning("mock_whatsapp's event stream did not open within %.0fs", wait)

    def stop(self) -> None:
        self.stopping.set()
        self.http.close()  # ends a read in progress
        if self.thread is not None:
            self.thread.join(timeout=5)

    def _run(self) -> None:
        pause = RETRY_SECONDS
        while not self.stopping.is_set():
            try:
                self._follow()
                pause = RETRY_SECONDS
            except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: client closed
                if self.stopping.is_set():
                    return
                log.warning("event stream: %s; reconnecting", type(exc).__name__)
                pause = min(pause * 2, MAX_RETRY_SECONDS)
            self.stopping.wait(pause)

    def _follow(self) -> None:
        # Until an event has come, there is nothing to resume after: asking for `after=0`
        # would replay the mock's whole buffer, old clock moves included.
        params: dict[str, str | int] = {"kinds": KINDS}
        if self.last_seq:
            params["after"] = self.last_seq
        with connect_sse(self.http, "GET", f"{self.base}/_mock/events", params=params) as source:
            source.response.raise_for_status()
            self.connected.set()
            for sse in source.iter_sse():
                event = event_from_sse(sse)
                if event is None:
                    continue
                self.last_seq = int(event["seq"])
                self.events += 1
                self.book.take(event)
