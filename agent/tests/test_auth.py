"""Only callers with the agent's token run turns or read conversations; only they, on a
virtual clock, set the turn's time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from caller import HEADERS, TOKEN, serving

from promptpipe_agent.main import create_app
from promptpipe_agent.settings import Settings

TURN = {"participant_id": "p_auth", "message": "Hello!", "phone_number": "+15551234567"}
EVENT = {
    "participant_id": "p_auth",
    "phone_number": "+15551234567",
    "event_id": "e_auth",
    "kind": "reminder",
    "payload": {},
}
NOW = {"X-PromptPipe-Now": "2031-05-06T07:08:09Z"}


@pytest.fixture
def agent_with(
    migrated_database: Callable[[str], str],
) -> Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]:
    """An agent app with the given settings, and an HTTP client that sends no token."""

    @asynccontextmanager
    async def make(**settings: Any) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(Settings(DATABASE_URL=migrated_database("agent_auth"), **settings))
        async with serving(app, headers=None) as c:
            yield c

    return make


@pytest.fixture
async def guarded(
    agent_with: Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]],
) -> AsyncIterator[httpx.AsyncClient]:
    async with agent_with(AGENT_API_TOKEN=TOKEN, DEV_CLOCK=True) as client:
        yield client


def assert_refused(resp: httpx.Response) -> None:
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"]["code"] == "unauthorized"
    assert resp.headers["www-authenticate"] == "Bearer"
    assert TOKEN not in resp.text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ],
    ids=["none", "wrong", "basic", "bare"],
)
async def test_a_turn_without_the_token_is_refused_and_changes_nothing(
    guarded: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    assert_refused(await guarded.post("/process-message", json=TURN, headers=headers))
    assert_refused(await guarded.post("/process-event", json=EVENT, headers=headers))
    assert (await guarded.get("/conversations/p_auth", headers=HEADERS)).status_code == 404


async def test_conversations_are_read_only_with_the_token(guarded: httpx.AsyncClient) -> None:
    assert (await guarded.post("/process-message", json=TURN, headers=HEADERS)).status_code == 200
    assert_refused(await guarded.get("/conversations"))
    assert_refused(await guarded.get("/conversations/p_auth"))
    listed = await guarded.get("/conversations", headers=HEADERS)
    assert [c["participant_id"] for c in listed.json()["conversations"]] == ["p_auth"]


async def test_health_stays_open(guarded: httpx.AsyncClient) -> None:
    assert (await guarded.get("/health")).status_code == 200
    assert (await guarded.get("/healthz")).status_code == 200
    assert (await guarded.get("/readyz")).status_code == 200


async def test_an_agent_without_a_token_refuses_everyone(
    agent_with: Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]],
) -> None:
    async with agent_with() as client:
        assert_refused(await client.post("/process-message", json=TURN))
        assert_refused(
            await client.post("/process-message", json=TURN, headers={"Authorization": "Bearer "})
        )
        assert (await client.get("/healthz")).status_code == 200


async def test_the_openapi_document_names_the_token_and_the_401(
    guarded: httpx.AsyncClient,
) -> None:
    doc = (await guarded.get("/openapi.json")).json()
    assert doc["components"]["securitySchemes"]["AgentToken"]["scheme"] == "bearer"
    for path, method in [("/process-message", "post"), ("/conversations", "get")]:
        operation = doc["paths"][path][method]
        assert "401" in operation["responses"]
        assert operation["security"] == [{"AgentToken": []}]
    assert "security" not in doc["paths"]["/healthz"]["get"]


async def last_timestamp(client: httpx.AsyncClient) -> str:
    view = (await client.get("/conversations/p_auth", headers=HEADERS)).json()
    return str(view["history"][-1]["timestamp"])


async def test_the_virtual_now_is_honoured_on_a_dev_clock(guarded: httpx.AsyncClient) -> None:
    resp = await guarded.post("/process-message", json=TURN, headers={**HEADERS, **NOW})
    assert resp.status_code == 200
    assert (await last_timestamp(guarded)).startswith("2031-05-06T07:08:09")


async def test_the_virtual_now_is_ignored_without_a_dev_clock(
    agent_with: Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]],
) -> None:
    async with agent_with(AGENT_API_TOKEN=TOKEN, DEV_CLOCK=False) as client:
        resp = await client.post("/process-message", json=TURN, headers={**HEADERS, **NOW})
        assert resp.status_code == 200
        assert not (await last_timestamp(client)).startswith("2031")


async def test_the_virtual_now_of_a_refused_caller_moves_nothing(
    guarded: httpx.AsyncClient,
) -> None:
    assert_refused(await guarded.post("/process-message", json=TURN, headers=NOW))
    assert (await guarded.get("/conversations/p_auth", headers=HEADERS)).status_code == 404


@pytest.mark.parametrize("value", ["0.5", "1700000000", "2031-05-06T07:08:09", "tomorrow"])
async def test_the_virtual_now_must_be_an_rfc3339_time(
    guarded: httpx.AsyncClient, value: str
) -> None:
    resp = await guarded.post(
        "/process-message", json=TURN, headers={**HEADERS, "X-PromptPipe-Now": value}
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "invalid_request"
    assert (await guarded.get("/conversations/p_auth", headers=HEADERS)).status_code == 404


async def test_a_wrong_method_is_answered_with_allow(guarded: httpx.AsyncClient) -> None:
    resp = await guarded.get("/process-message", headers=HEADERS)
    assert resp.status_code == 405
    assert resp.headers["allow"] == "POST"
    assert "detail" not in resp.json()


async def test_a_body_over_the_cap_is_refused_unread(guarded: httpx.AsyncClient) -> None:
    huge = {**TURN, "message": "x" * (2 * 2**20)}
    resp = await guarded.post("/process-message", json=huge, headers=HEADERS)
    assert resp.status_code == 413, resp.text[:200]
    assert resp.json()["error"]["code"] == "too_large"

    async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        yield b'{"participant_id": "p_auth", "phone_number": "+15551234567", "message": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    chunked = await guarded.post(
        "/process-message",
        content=streamed(),
        headers={**HEADERS, "Content-Type": "application/json"},
    )
    assert chunked.status_code == 413 and chunked.json()["error"]["code"] == "too_large"
    assert (await guarded.get("/conversations/p_auth", headers=HEADERS)).status_code == 404
