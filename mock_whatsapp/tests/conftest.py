"""mock_whatsapp in-process, with a webhook receiver at the edge that checks signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from mock_whatsapp.main import create_app
from mock_whatsapp.settings import Settings
from mock_whatsapp.webhook_client import Answer, NoAnswer

SECRET = "test-secret"
TOKEN = "test-token"
PHONE_NUMBER_ID = "123456789"


class InProcess:
    """The mock's webhook client (`webhook_client.HttpClient`) answered in this process by
    a handler of httpx requests, at any URL: no socket, no port."""

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self.client = httpx.AsyncClient(transport=httpx.MockTransport(handler))

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        return await self._answer(self.client.post(url, content=body, headers=dict(headers)))

    async def get(self, url: str, params: Mapping[str, str]) -> Answer:
        return await self._answer(self.client.get(url, params=dict(params)))

    @staticmethod
    async def _answer(request: Any) -> Answer:
        try:
            resp = await request
        except httpx.TimeoutException as exc:
            raise NoAnswer(type(exc).__name__, str(exc), timed_out=True) from exc
        except httpx.HTTPError as exc:
            raise NoAnswer(type(exc).__name__, str(exc)) from exc
        return Answer(resp.status_code, resp.text)

    async def close(self) -> None:
        await self.client.aclose()


@dataclass
class Receiver:
    """Plays delivery's webhook endpoint: records payloads, can fail on purpose."""

    payloads: list[dict[str, Any]] = field(default_factory=list)
    failures_left: int = 0
    attempts: int = 0
    check_signature: bool = True
    bodies: list[bytes] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":  # Meta's verification handshake
            params = request.url.params
            if params.get("hub.verify_token") != "good-token":
                return httpx.Response(403)
            return httpx.Response(200, text=params["hub.challenge"])
        self.attempts += 1
        body = request.read()
        self.bodies.append(body)
        self.signatures.append(request.headers["X-Hub-Signature-256"])
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        if self.check_signature:
            assert request.headers["X-Hub-Signature-256"] == expected
        if self.failures_left:
            self.failures_left -= 1
            return httpx.Response(500)
        self.payloads.append(json.loads(body))
        return httpx.Response(200, json={"status": "ok"})

    def client(self, connections: int = 1) -> InProcess:
        """What `create_app(webhook_client=...)` takes: the mock posts to this receiver."""
        return InProcess(self.handle)

    def messages(self) -> list[dict[str, Any]]:
        return [
            m
            for p in self.payloads
            for e in p["entry"]
            for c in e["changes"]
            for m in c["value"].get("messages", [])
        ]

    def statuses(self) -> list[dict[str, Any]]:
        return [
            s
            for p in self.payloads
            for e in p["entry"]
            for c in e["changes"]
            for s in c["value"].get("statuses", [])
        ]


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """More settings for the mock; a test parametrizes this to change them."""
    return {}


@pytest.fixture
async def mock(
    receiver: Receiver, settings_overrides: dict[str, Any]
) -> AsyncIterator[httpx.AsyncClient]:
    defaults: dict[str, Any] = {
        "app_secret": SECRET,
        "access_token": TOKEN,
        "phone_number_id": PHONE_NUMBER_ID,
        "status_delay_seconds": 0.01,
        "webhook_retry_for_seconds": 5,
    }
    settings = Settings(**{**defaults, **settings_overrides})
    app = create_app(settings, webhook_client=receiver.client)
    async with app.router.lifespan_context(app):
        app.state.business.webhooks.first_backoff = 0.01
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
def drain(mock: httpx.AsyncClient) -> Callable[[], Any]:
    """Wait until every status timeline and webhook under way has finished."""

    async def wait() -> None:
        await mock.app.state.business.settled()  # type: ignore[attr-defined]

    return wait
