"""The load's two routes answer the same on their short path (hot_routes.py: a JSON
object body of a declared length) as through FastAPI (any other request)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from .conftest import PHONE_NUMBER_ID, TOKEN

SEND = f"/v21.0/{PHONE_NUMBER_ID}/messages"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def without_trace(answer: httpx.Response) -> tuple[int, Any]:
    body = answer.json()
    if isinstance(body.get("error"), dict):
        body["error"].pop("fbtrace_id", None)  # random per answer
    return answer.status_code, body


async def both_ways(
    mock: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[tuple[int, Any], tuple[int, Any]]:
    """The answer on the short path, then through FastAPI (the same body sent in chunks,
    with no declared length, which the short path leaves alone)."""
    content = json.dumps(body).encode()
    headers = {**headers, "Content-Type": "application/json"}

    async def chunked() -> AsyncIterator[bytes]:
        yield content

    short = await mock.post(path, content=content, headers=headers)
    slow = await mock.post(path, content=chunked(), headers=headers)
    return without_trace(short), without_trace(slow)


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"messaging_product": "whatsapp", "to": "15551234567", "text": {"body": "x"}}, {}),
        ({"messaging_product": "whatsapp", "to": "12", "text": {"body": "x"}}, AUTH),
        ({"messaging_product": "whatsapp", "to": "15551234567", "type": "nope"}, AUTH),
        ({"to": "15551234567", "text": {"body": "x"}}, AUTH),
    ],
)
async def test_graph_refusals_are_the_same_either_way(
    mock: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]
) -> None:
    short, slow = await both_ways(mock, SEND, body, headers)
    assert short == slow and short[0] >= 400


@pytest.mark.parametrize(
    ("phone", "body"),
    [
        ("15551234567", {"text": ""}),
        ("15551234567", {"type": "interactive"}),
        ("15551234567", {"text": "nul \u0000"}),
        ("not-a-phone", {"text": "hi"}),
        ("15551234567", {"text": "hi", "to": "999"}),
    ],
)
async def test_phone_refusals_are_the_same_either_way(
    mock: httpx.AsyncClient, phone: str, body: dict[str, Any]
) -> None:
    short, slow = await both_ways(mock, f"/_mock/phones/{phone}/messages", body, {})
    assert short == slow and short[0] >= 400


async def test_both_ways_send(mock: httpx.AsyncClient) -> None:
    body = {"messaging_product": "whatsapp", "to": "15551234567", "text": {"body": "x"}}
    (short_status, short), (slow_status, slow) = await both_ways(mock, SEND, body, AUTH)
    assert short_status == slow_status == 200
    assert short["contacts"] == slow["contacts"]
    assert short["messages"][0]["id"] != slow["messages"][0]["id"]
    chat = (await mock.get("/_mock/phones/15551234567/messages")).json()
    assert [m["id"] for m in chat] == [short["messages"][0]["id"], slow["messages"][0]["id"]]
