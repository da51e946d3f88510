"""Signed webhook delivery with Meta's retry behaviour, and a log of every attempt."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from mock_whatsapp.chats import now_utc
from mock_whatsapp.journal import Journal

log = logging.getLogger("mock_whatsapp")


def sign(body: bytes, app_secret: str) -> str:
    """X-Hub-Signature-256: HMAC-SHA256 of the exact bytes sent, lowercase hex."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Attempt:
    number: int
    at: str
    status_code: int | None
    latency_ms: float
    error: str | None


@dataclass
class Delivery:
    """One webhook and every attempt to deliver it."""

    id: int
    url: str
    payload: dict[str, Any]
    body: str
    signature: str
    state: str = "pending"  # pending → delivered | gave_up
    attempts: list[Attempt] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "state": self.state,
            "payload": self.payload,
            "signature": self.signature,
            "attempts": [a.__dict__ for a in self.attempts],
        }


class WebhookSender:
    """Posts webhooks in the background; a failing endpoint is retried with backoff."""

    def __init__(
        self,
        url: str,
        app_secret: str,
        retry_for: float,
        timeout: float,
        max_backoff: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.journal = journal or Journal()
        self.url = url
        self.app_secret = app_secret
        self.retry_for = retry_for
        self.client = httpx.AsyncClient(timeout=timeout, transport=transport)
        self.deliveries: list[Delivery] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.first_backoff = 0.5
        self.max_backoff = max_backoff

    def send(self, payload: dict[str, Any]) -> Delivery:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        delivery = Delivery(
            id=len(self.deliveries) + 1,
            url=self.url,
            payload=payload,
            body=body,
            signature=sign(body.encode(), self.app_secret),
        )
        self.deliveries.append(delivery)
        self.journal.save_delivery(delivery)
        self._start(delivery)
        return delivery

    def _start(self, delivery: Delivery) -> None:
        task = asyncio.create_task(self._deliver(delivery))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def restore(self, saved: list[dict[str, Any]]) -> None:
        """Take back the deliveries a journal kept; those still pending are retried, as
        Meta goes on retrying whatever happened to it in between."""
        for data in saved:
            attempts = [Attempt(**a) for a in data.pop("attempts")]
            delivery = Delivery(**data, attempts=attempts)
            self.deliveries.append(delivery)
            if delivery.state == "pending":
                self._start(delivery)

    async def _deliver(self, d: Delivery) -> None:
        deadline = time.monotonic() + self.retry_for
        backoff = self.first_backoff
        while True:
            started = time.perf_counter()
            status, error = None, None
            try:
                resp = await self.client.post(
                    d.url,
                    content=d.body.encode(),
                    headers={
                        "Content-Type": "application/json",
                        "X-Hub-Signature-256": d.signature,
                        "User-Agent": "facebookexternalua",
                    },
                )
                status = resp.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            d.attempts.append(
                Attempt(
                    number=len(d.attempts) + 1,
                    at=now_utc().isoformat(),
                    status_code=status,
                    latency_ms=round((time.perf_counter() - started) * 1000, 1),
                    error=error,
                )
            )
            if status is not None and 200 <= status < 300:
                d.state = "delivered"
                self.journal.save_delivery(d)
                return
            self.journal.save_delivery(d)
            if time.monotonic() + backoff > deadline:
                d.state = "gave_up"
                self.journal.save_delivery(d)
                log.warning(
                    "webhook given up", extra={"delivery_id": d.id, "attempt": len(d.attempts)}
                )
                return
            log.info(
                "webhook failed, will retry",
                extra={
                    "delivery_id": d.id,
                    "attempt": len(d.attempts),
                    "status": status,
                    "error": error,
                },
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def drain(self) -> None:
        """Wait for every delivery under way (tests use it)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*list(self.tasks), return_exceptions=True)
        await self.client.aclose()
