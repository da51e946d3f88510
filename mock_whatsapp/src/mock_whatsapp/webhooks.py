"""Signed webhook delivery with Meta's retry behaviour, and a log of every attempt.

Every webhook goes to every subscriber over kept-alive connections. Each subscriber has
its own lane: a queue served by a bounded number of workers sharing one aiohttp session
(`webhook_client.py`), so a slow receiver is sent at most that many requests at once and
never holds up another one. A body is serialized and signed once, whatever the number of
subscribers. Retries wait in the mock's one scheduler, not in a sleeping task each.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from mock_whatsapp.chats import now_utc
from mock_whatsapp.faults import FaultBook
from mock_whatsapp.graph_errors import ControlError
from mock_whatsapp.journal import Journal
from mock_whatsapp.scheduler import Scheduler
from mock_whatsapp.webhook_client import ClientFactory, HttpClient, NoAnswer, aiohttp_clients
from mock_whatsapp.webhook_retries import RetrySchedule

log = logging.getLogger("mock_whatsapp")

WEBHOOK_JOBS = "webhook"  # the scheduler's kind for retries and delayed webhooks


def sign(body: bytes, app_secret: str) -> str:
    """X-Hub-Signature-256: HMAC-SHA256 of the exact bytes sent, lowercase hex."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def serialize(payload: dict[str, Any]) -> bytes:
    """A webhook's body: compact JSON, UTF-8 as is (what json.dumps with
    separators=(",", ":") and ensure_ascii=False writes)."""
    return orjson.dumps(payload)


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
    """One webhook to one subscriber and every attempt to deliver it."""

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
    # When this process gives up on it (monotonic), set at its first attempt here.
    deadline: float | None = field(default=None, repr=False)
    # In a lane's queue or waiting in the scheduler, so that it is never posted twice.
    queued: bool = field(default=False, repr=False)

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

    def record(self) -> dict[str, Any]:
        """What the journal keeps (the payload is the body, parsed again on restore)."""
        return {
            "id": self.id,
            "url": self.url,
            "body": self.body,
            "signature": self.signature,
            "state": self.state,
            "attempts": self.attempts,
            "subscriber_id": self.subscriber_id,
            "fault": self.fault,
            "duplicate_of": self.duplicate_of,
            "delay_seconds": self.delay_seconds,
        }


class Lane:
    """One subscriber's queue and its workers (at most `concurrency` requests at once),
    sharing one client whose connections stay alive."""

    def __init__(self, sender: WebhookSender, concurrency: int) -> None:
        self.queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self.busy = 0
        self.client = sender.clients(concurrency)
        # Their own empty context: nothing a request set leaks into what they journal.
        self.workers = [
            asyncio.create_task(self._work(sender, self.client), context=contextvars.Context())
            for _ in range(concurrency)
        ]

    async def _work(self, sender: WebhookSender, client: HttpClient) -> None:
        while True:
            delivery = await self.queue.get()
            delivery.queued = False
            self.busy += 1
            try:
                await sender.attempt(delivery, client)
            except Exception:
                log.exception("webhook attempt failed", extra={"delivery_id": delivery.id})
            finally:
                self.busy -= 1

    def idle(self) -> bool:
        return self.queue.empty() and self.busy == 0

    async def close(self) -> None:
        for worker in self.workers:
            worker.cancel()
        await asyncio.gather(*self.workers, return_exceptions=True)
        await self.client.close()


class WebhookSender:
    """Posts webhooks in the background; a failing endpoint is retried on schedule."""

    def __init__(
        self,
        url: str,
        app_secret: str,
        retry_for: float,
        timeout: float,
        max_backoff: float = RetrySchedule.ceiling,
        clients: ClientFactory | None = None,
        journal: Journal | None = None,
        faults: FaultBook | None = None,
        scheduler: Scheduler | None = None,
        concurrency: int = 16,
    ) -> None:
        self.journal = journal or Journal()
        self.faults = faults or FaultBook()
        self.scheduler = scheduler or Scheduler()
        self.url = url
        # The configured URL is always subscribed (delivery may not be up to answer a
        # handshake when the mock starts); more endpoints join through `subscribe`.
        self.subscribers = [Subscriber("default", url, verified=False)] if url else []
        self.app_secret = app_secret
        self.retry_for = retry_for
        self.max_backoff = max_backoff
        self.first_backoff = RetrySchedule.first
        self.timeout = timeout
        self.clients = clients or aiohttp_clients(timeout)
        self.client = self.clients(4)  # for handshakes
        self.deliveries: list[Delivery] = []
        self.next_id = 1
        self.concurrency = concurrency
        self.lanes: dict[str, Lane] = {}

    @property
    def schedule(self) -> RetrySchedule:
        return RetrySchedule(self.first_backoff, self.max_backoff, self.retry_for)

    def send(self, payload: dict[str, Any], start: bool = True) -> list[Delivery]:
        """Post one event to every subscriber, each delivery on its own, faults applied.
        With `start=False` the deliveries are journaled but neither logged nor posted
        until `start` (an acknowledged change applies them once committed)."""
        body = serialize(payload)
        text = body.decode()
        signature = sign(body, self.app_secret)  # once, whatever the subscribers
        made = []
        for subscriber in list(self.subscribers):
            delivery = self._new(subscriber, payload, text, signature)
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
                    delivery.signature = sign(body, "not-" + self.app_secret)
            made.append(delivery)
            if action is not None and action.webhook == "duplicate":
                twin = self._new(subscriber, payload, text, signature)
                twin.fault, twin.duplicate_of = "duplicate", delivery.id
                made.append(twin)
        for delivery in made:
            self.journal.save_delivery(delivery)
        if start:
            self.start(made)
        return made

    async def send_acknowledged(self, payload: dict[str, Any]) -> list[Delivery]:
        """`send`, returning once the journal has the deliveries (for a caller about to
        say they are on their way)."""
        async with self.journal.acknowledged():
            made = self.send(payload, start=False)
        self.start(made)
        return made

    def _new(
        self, subscriber: Subscriber, payload: dict[str, Any], body: str, signature: str
    ) -> Delivery:
        delivery = Delivery(
            id=self.next_id,
            url=subscriber.url,
            payload=payload,
            body=body,
            signature=signature,
            subscriber_id=subscriber.id,
        )
        self.next_id += 1
        return delivery

    def start(self, deliveries: list[Delivery]) -> None:
        """Log the deliveries and post those still pending."""
        for delivery in deliveries:
            self.deliveries.append(delivery)
            if delivery.state == "pending":
                self._post(delivery)

    def _post(self, delivery: Delivery) -> None:
        if delivery.queued:
            return
        delivery.queued = True
        if delivery.delay_seconds and not delivery.attempts:
            self.scheduler.later(
                delivery.delay_seconds, functools.partial(self._enqueue, delivery), WEBHOOK_JOBS
            )
        else:
            self._enqueue(delivery)

    async def pause(self) -> None:
        """Stop posting: every lane's workers end with their connections (a post cut short
        stays pending) and the retries waiting are dropped. `resume` posts again."""
        self.scheduler.drop(WEBHOOK_JOBS)
        lanes, self.lanes = self.lanes, {}
        for lane in lanes.values():
            await lane.close()
        for delivery in self.deliveries:
            delivery.queued = False

    def resume(self) -> None:
        """Post every delivery still pending, as a restart does (one cut short is posted
        again with the same body: Meta delivers at least once)."""
        for delivery in self.deliveries:
            if delivery.state == "pending":
                self._post(delivery)

    def _enqueue(self, delivery: Delivery) -> None:
        lane = self.lanes.get(delivery.subscriber_id)
        if lane is None:
            lane = self.lanes[delivery.subscriber_id] = Lane(self, self.concurrency)
        lane.queue.put_nowait(delivery)

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
            answer = await self.client.get(url, params)
        except NoAnswer as exc:
            if exc.timed_out:
                raise ControlError(
                    400, "verification_failed", "the URL did not answer in time"
                ) from None
            log.info("webhook handshake failed", extra={"error": exc.kind})
            raise ControlError(400, "verification_failed", "the URL could not be reached") from None
        if answer.status != 200 or answer.text.strip() != challenge:
            raise ControlError(
                400,
                "verification_failed",
                f"the URL answered {answer.status}, not 200 with the challenge",
            )
        subscriber = Subscriber("sub_" + secrets.token_hex(4), url, verified=True)
        async with self.journal.acknowledged():
            self._save_subscribers([*self.subscribers, subscriber])
        self.subscribers.append(subscriber)
        return subscriber

    def restore_default(self) -> bool:
        """Subscribe the configured URL again if it was removed; True when it was."""
        if not self.url or any(s.id == "default" for s in self.subscribers):
            return False
        self.subscribers.insert(0, Subscriber("default", self.url, verified=False))
        return True

    async def unsubscribe(self, subscriber_id: str) -> bool:
        kept = [s for s in self.subscribers if s.id != subscriber_id]
        if len(kept) == len(self.subscribers):
            return False
        async with self.journal.acknowledged():
            self._save_subscribers(kept)
        self.subscribers = kept
        return True

    def _save_subscribers(self, subscribers: list[Subscriber]) -> None:
        # The configured URL comes from the settings on every start; keep the others.
        self.journal.save_subscribers([s.view() for s in subscribers if s.verified])

    def restore_subscribers(self, saved: list[dict[str, Any]]) -> None:
        self.subscribers += [Subscriber(**s) for s in saved]

    def restore(self, saved: list[dict[str, Any]]) -> None:
        """Take back the deliveries a journal kept; those still pending are retried, as
        Meta goes on retrying whatever happened to it in between."""
        for data in saved:
            attempts = [Attempt(**a) for a in data.pop("attempts")]
            data.pop("payload", None)  # kept by an older mock; the body says the same
            delivery = Delivery(**data, payload=json.loads(data["body"]), attempts=attempts)
            self.next_id = max(self.next_id, delivery.id + 1)
            self.start([delivery])

    async def attempt(self, d: Delivery, client: HttpClient) -> None:
        """Post the webhook once; on failure, schedule the next try or give up."""
        if d.deadline is None:
            d.deadline = time.monotonic() + self.retry_for
        started = time.perf_counter()
        status, error, answer = None, None, ""
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": d.signature,
            "User-Agent": "facebookexternalua",
        }
        try:
            got = await client.post(d.url, d.body.encode(), headers)
            status, answer = got.status, got.text[:1000]
        except NoAnswer as exc:
            error = str(exc)
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
        wait = self.schedule.wait(len(d.attempts))
        if time.monotonic() + wait > d.deadline:
            d.state = "gave_up"
            self.journal.save_delivery(d)
            log.warning("webhook given up", extra={"delivery_id": d.id, "attempt": len(d.attempts)})
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
        d.queued = True
        self.scheduler.later(wait, lambda: self._enqueue(d), WEBHOOK_JOBS)

    def idle(self) -> bool:
        """Nothing being posted, queued or waiting for a retry."""
        lanes = all(lane.idle() for lane in self.lanes.values())
        return lanes and not self.scheduler.pending(WEBHOOK_JOBS)

    async def drain(self) -> None:
        """Wait for every delivery under way, and for its log to be kept (tests use it)."""
        while not self.idle():
            await asyncio.sleep(0.005)
        await self.journal.flushed()

    async def close(self) -> None:
        for lane in self.lanes.values():
            await lane.close()
        await self.client.close()
