"""Templates loaded from a file, with header and button components checked as Meta does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

URL = "/v21.0/123456789/messages"
AUTH = {"Authorization": "Bearer test-token"}

REGISTRY = {
    "streak_update": {
        "language": "en_US",
        "header": "Day {{1}}",
        "body": "Well done {{1}}!",
        "buttons": [
            {"type": "url", "url": "https://coach.test/streak/{{1}}"},
            {"type": "quick_reply", "text": "Thanks"},
        ],
    },
    "weekly_chart": {"language": "en_US", "header": {"format": "image"}, "body": "Your week"},
}


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "templates.json"
    path.write_text(json.dumps(REGISTRY))
    return {"templates_file": str(path)}


def send(name: str, *components: dict[str, Any]) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": "15557654321",
        "type": "template",
        "template": {"name": name, "language": {"code": "en_US"}, "components": list(components)},
    }


def texts(kind: str, *values: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, **extra, "parameters": [{"type": "text", "text": v} for v in values]}


async def test_header_body_and_url_button_parameters(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    body = send(
        "streak_update",
        texts("header", "12"),
        texts("body", "Ada"),
        texts("button", "ada-12", sub_type="url", index="0"),
    )
    resp = await mock.post(URL, json=body, headers=AUTH)
    assert resp.status_code == 200, resp.text
    await drain()
    [message] = (await mock.get("/_mock/phones/15557654321/messages")).json()
    assert message["text"] == "Well done Ada!"
    assert message["template"]["header"] == "Day 12"
    assert message["template"]["buttons"] == [
        {"type": "url", "url": "https://coach.test/streak/ada-12"},
        {"type": "quick_reply", "text": "Thanks"},
    ]
    assert [s["status"] for s in receiver.statuses()] == ["sent", "delivered", "read"]


async def test_media_header_takes_an_image(mock: httpx.AsyncClient) -> None:
    image = {"type": "image", "image": {"link": "https://coach.test/week.png"}}
    ok = await mock.post(
        URL, json=send("weekly_chart", {"type": "header", "parameters": [image]}), headers=AUTH
    )
    assert ok.status_code == 200, ok.text
    wrong = await mock.post(URL, json=send("weekly_chart", texts("header", "x")), headers=AUTH)
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == 132012


@pytest.mark.parametrize(
    ("components", "code"),
    [
        ([texts("body", "Ada"), texts("button", "a", sub_type="url", index="0")], 132000),
        ([texts("header", "1"), texts("body", "Ada")], 132000),
        ([texts("header", "1"), texts("body", "Ada"), texts("button", "a", index="5")], 100),
        ([texts("footer", "x")], 100),
    ],
    ids=["no-header-param", "no-button-param", "no-such-button", "unknown-component"],
)
async def test_component_mistakes(
    mock: httpx.AsyncClient, components: list[dict[str, Any]], code: int
) -> None:
    resp = await mock.post(URL, json=send("streak_update", *components), headers=AUTH)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == code
    assert (await mock.get("/_mock/phones/15557654321/messages")).json() == []
