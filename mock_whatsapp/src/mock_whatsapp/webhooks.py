"""Signed webhook delivery with Meta's retry behaviour, and a log of every attempt."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from mock_whatsapp.chats import now_utc
from mock_whatsapp.faults import FaultBook
from mock_whatsapp.graph_errors import ControlError
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
    signature: str = ""
    response_body: str = ""  # the first 1000 characters of what the receiver answered


@dataclass
class Subscriber:
    """A webhook endpoint; `verified` when it answered the GET handshake."""

    id: str
    url: str
    verified: bool

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "verified": self.verified}


@dataclass
class Delivery:
    """One webhook and every attempt to deliver it."""

    id: int
    url: str
    payload: dict[str, Any]
    body: str
    signature: str
    state: str = "pending"  # pending → delivered | gave_up; or dropped by a fault
    attempts: list[Attempt] = field(default_factory=list)
    subscriber_id: str = "default"
    fault: str | None = None  # the webhook fault that hit it: drop, duplicate, delay, ...
    duplicate_of: int | None = None
    delay_seconds: float = 0.0

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "subscriber_id": self.subscriber_id,
            "state": self.state,
            "payload": self.payload,
            "signature": self.signature,
            "fault": self.fault,
            "duplicate_of": self.duplicate_of,
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
        faults: FaultBook | None = None,
    ) -> None:
        self.journal = journal or Journal()
        self.faults = faults or FaultBook()
        self.url = url
        # The configured URL is always subscribed (delivery may not be up to answer a
        # handshake when the mock starts); more endpoints join through `subscribe`.
        self.subscribers = [Subscriber("default", url, verified=False)] if url else []
        self.app_secret = app_secret
        self.retry_for = retry_for
        self.client = httpx.AsyncClient(timeout=timeout, transport=transport)
        self.deliveries: list[Delivery] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.first_backoff = 0.5
        self.max_backoff = max_backoff

    def send(self, payload: dict[str, Any]) -> list[Delivery]:
        """Post one event to every subscriber, each delivery on its own, faults applied."""
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        sent = []
        for subscriber in list(self.subscribers):
            delivery = self._new(subscriber, payload, body)
            fired = self.faults.fire("webhooks")
            delivery.delay_seconds = sum(f.latency_ms for f in fired) / 1000
            action = next((f for f in fired if f.webhook), None)
            if action is not None:
                delivery.fault = action.webhook
                if action.webhook == "drop":
                    delivery.state = "dropped"
                elif action.webhook == "delay":
                    delivery.delay_seconds += action.delay_seconds
                elif action.webhook == "bad_signature":
                    delivery.signature = sign(body.encode(), "not-" + self.app_secret)
            sent.append(delivery)
            if action is not None and action.webhook == "duplicate":
                twin = self._new(subscriber, payload, body)
                twin.fault, twin.duplicate_of = "duplicate", delivery.id
                sent.append(twin)
        for delivery in sent:
            self.journal.save_delivery(delivery)
            if delivery.state == "pending":
                self._start(delivery)
        return sent

    def _new(self, subscriber: Subscriber, payload: dict[str, Any], body: str) -> Delivery:
        delivery = Delivery(
            id=len(self.deliveries) + 1,
            url=subscriber.url,
            payload=payload,
            body=body,
            signature=sign(body.encode(), self.app_secret),
            subscriber_id=subscriber.id,
        )
        self.deliveries.append(delivery)
        return delivery

    async def subscribe(self, url: str, verify_token: str) -> Subscriber:
        """Register an endpoint as Meta does: GET it with hub.mode=subscribe, the verify
        token and a challenge, and keep it only if it echoes the challenge back."""
        challenge = str(secrets.randbelow(10**9))
        params = {
            "hub.mode": "subscribe",
            "hub.verify_token": verify_token,
            "hub.challenge": challenge,
        }
        # The caller learns whether the handshake worked, never what the endpoint said or
        # why a connection failed: the control API must not read pages for anyone.
        try:
            resp = await self.client.get(url, params=params)
        except httpx.TimeoutException:
            raise ControlError(
                400, "verification_failed", "the URL did not answer in time"
            ) from None
        except httpx.HTTPError as exc:
            log.info("webhook handshake failed", extra={"error": type(exc).__name__})
            raise ControlError(400, "verification_failed", "the URL could not be reached") from None
        if resp.status_code != 200 or resp.text.strip() != challenge:
            raise ControlError(
                400,
                "verification_failed",
                f"the URL answered {resp.status_code}, not 200 with the challenge",
            )
        subscriber = Subscriber("sub_" + secrets.token_hex(4), url, verified=True)
        self.subscribers.append(subscriber)
        self._save_subscribers()
        return subscriber

    def restore_default(self) -> bool:
        """Subscribe the configured URL again if it was removed; True when it was."""
        if not self.url or any(s.id == "default" for s in self.subscribers):
            return False
        self.subscribers.insert(0, Subscriber("default", self.url, verified=False))
        return True

    def unsubscribe(self, subscriber_id: str) -> bool:
        before = len(self.subscribers)
        self.subscribers = [s for s in self.subscribers if s.id != subscriber_id]
        self._save_subscribers()
        return len(self.subscribers) != before

    def _save_subscribers(self) -> None:
        # The configured URL comes from the settings on every start; keep the others.
        self.journal.save_subscribers([s.view() for s in self.subscribers if s.verified])

    def restore_subscribers(self, saved: list[dict[str, Any]]) -> None:
        self.subscribers += [Subscriber(**s) for s in saved]

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
        if d.delay_seconds and not d.attempts:
            await asyncio.sleep(d.delay_seconds)
        deadline = time.monotonic() + self.retry_for
        backoff = self.first_backoff
        while True:
            started = time.perf_counter()
            status, error, answer = None, None, ""
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
                status, answer = resp.status_code, resp.text[:1000]
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            d.attempts.append(
                Attempt(
                    number=len(d.attempts) + 1,
                    at=now_utc().isoformat(),
                    status_code=status,
                    latency_ms=round((time.perf_counter() - started) * 1000, 1),
                    error=error,
                    signature=d.signature,
                    response_body=answer,
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
            # Jitter (±20 %) keeps many failed webhooks from retrying in lockstep.
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
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
