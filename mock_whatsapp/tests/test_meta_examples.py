"""Meta's documentation examples, replayed against the mock as a real process: the send
bodies of the docs are accepted, and what the mock answers and posts has the shape of the
docs' answers and webhooks (every key of the example, with the same JSON type).

The examples are those restated in ../shared/reference/whatsapp-cloud-api.md (A.2 to A.9),
with placeholders filled in."""

from __future__ import annotations

import hashlib
import hmac
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

sys.path.insert(0, str(Path(__file__).parent))
from mock_process import mock_process, served

PHONE_ID = "106540352242922"
TOKEN = "docs-token"
SECRET = "docs-secret"
USER = "16315551181"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SENDS = f"/v21.0/{PHONE_ID}/messages"

# --- examples from the documentation (reference A.2, A.3, A.5, A.9) ----------------------

TEXT = {
    "messaging_product": "whatsapp",
    "recipient_type": "individual",
    "to": USER,
    "type": "text",
    "text": {"body": "Hello from the docs", "preview_url": False},
}
REPLY_BUTTONS = {
    "messaging_product": "whatsapp",
    "recipient_type": "individual",
    "to": USER,
    "type": "interactive",
    "interactive": {
        "type": "button",
        "header": {"type": "text", "text": "Your habit"},
        "body": {"text": "Did you do it today?"},
        "footer": {"text": "Tap a button"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "done", "title": "Done"}},
                {"type": "reply", "reply": {"id": "later", "title": "Next time"}},
            ]
        },
    },
}
LIST = {
    "messaging_product": "whatsapp",
    "recipient_type": "individual",
    "to": USER,
    "type": "interactive",
    "interactive": {
        "type": "list",
        "header": {"type": "text", "text": "Habits"},
        "body": {"text": "Pick one"},
        "footer": {"text": "Any time"},
        "action": {
            "button": "Choose",
            "sections": [
                {
                    "title": "Move",
                    "rows": [
                        {"id": "walk", "title": "Walk", "description": "10 minutes"},
                        {"id": "stretch", "title": "Stretch", "description": "5 minutes"},
                    ],
                }
            ],
        },
    },
}
CTA_URL = {
    "messaging_product": "whatsapp",
    "to": USER,
    "type": "interactive",
    "interactive": {
        "type": "cta_url",
        "body": {"text": "Read the guide"},
        "action": {
            "name": "cta_url",
            "parameters": {"display_text": "Open", "url": "https://example.test/guide"},
        },
    },
}
TEMPLATE = {
    "messaging_product": "whatsapp",
    "to": USER,
    "type": "template",
    "template": {
        "name": "daily_prompt_reminder",
        "language": {"code": "en"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Ada"}, {"type": "text", "text": "a walk"}],
            }
        ],
    },
}
IMAGE_BY_LINK = {
    "messaging_product": "whatsapp",
    "recipient_type": "individual",
    "to": USER,
    "type": "image",
    "image": {"link": "https://example.test/streak.png", "caption": "Your streak"},
}
DOCUMENT_BY_LINK = {
    "messaging_product": "whatsapp",
    "to": USER,
    "type": "document",
    "document": {"link": "https://example.test/plan.pdf", "filename": "plan.pdf"},
}
SEND_ANSWER = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": USER, "wa_id": USER}],
    "messages": [{"id": "wamid.HBgLMTYzMTU1NTExODEVAgARGBI="}],
}
INBOUND_TEXT_WEBHOOK = {
    "object": "whatsapp_business_account",
    "entry": [
        {
            "id": "0",
            "changes": [
                {
                    "field": "messages",
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {
                            "display_phone_number": "16505551111",
                            "phone_number_id": "123456123",
                        },
                        "contacts": [{"profile": {"name": "test user name"}, "wa_id": USER}],
                        "messages": [
                            {
                                "from": USER,
                                "id": "wamid.ABGGFlA5Fpa",
                                "timestamp": "1504902988",
                                "type": "text",
                                "text": {"body": "this is a text message"},
                            }
                        ],
                    },
                }
            ],
        }
    ],
}
BUTTON_REPLY_MESSAGE = {
    "context": {"from": "16505551111", "id": "wamid.gBGGFlA5FpafAgkOuJbRq54qwbM"},
    "from": USER,
    "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
    "timestamp": "1714510003",
    "type": "interactive",
    "interactive": {"type": "button_reply", "button_reply": {"id": "done", "title": "Done"}},
}
SENT_STATUS = {
    "id": "wamid.HBgNNTUxNjk5MjMxODIyMhUCABEYEjgxQkVFRDVBQTVDODFDOTg3MQA=",
    "status": "sent",
    "timestamp": "1750857384",
    "recipient_id": USER,
    "biz_opaque_callback_data": "job-7",
    "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"},
}
FAILED_STATUS = {
    "id": "wamid.HBgLMTY1MDUxNzY0MzYVAgARGBI0QzBGRjVDRkVEODkyRThDNUYA",
    "status": "failed",
    "timestamp": "1674563441",
    "recipient_id": "16505176436",
    "errors": [
        {
            "code": 131047,
            "title": "Message failed to send because more than 24 hours have passed since "
            "the customer last replied to this number.",
        }
    ],
}
GRAPH_ERROR = {
    "error": {
        "message": "(#130429) Rate limit hit",
        "type": "OAuthException",
        "code": 130429,
        "error_data": {"messaging_product": "whatsapp", "details": "<why>"},
        "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
    }
}


def assert_shaped_like(ours: Any, example: Any, path: str = "$") -> None:
    """Every key of the example is in ours with the same JSON type, recursively (lists:
    their first items). Ours may say more."""
    if isinstance(example, dict):
        assert isinstance(ours, dict), f"{path}: expected an object, got {ours!r}"
        for key, value in example.items():
            assert key in ours, f"{path}.{key} is missing in {ours!r}"
            assert_shaped_like(ours[key], value, f"{path}.{key}")
    elif isinstance(example, list):
        assert isinstance(ours, list) and ours, f"{path}: expected a non-empty list"
        if example:
            assert_shaped_like(ours[0], example[0], f"{path}[0]")
    elif isinstance(example, bool):
        assert isinstance(ours, bool), f"{path}: expected a boolean, got {ours!r}"
    else:
        assert type(ours) is type(example), f"{path}: expected {type(example)}, got {ours!r}"


class Inbox:
    """A webhook endpoint that checks Meta's signature on the raw bytes and keeps bodies."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.app = FastAPI()

        @self.app.post("/hook")
        async def hook(request: Request) -> Response:
            body = await request.body()
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(request.headers.get("x-hub-signature-256", ""), expected):
                return Response(status_code=403)
            with self.lock:
                self.payloads.append(await request.json())
            return Response(status_code=200)

    def values(self) -> list[dict[str, Any]]:
        with self.lock:
            return [c["value"] for p in self.payloads for e in p["entry"] for c in e["changes"]]

    def wait_for(self, predicate: Any, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for value in self.values():
                if predicate(value):
                    return value
            time.sleep(0.05)
        pytest.fail("the expected webhook never came")


@pytest.fixture(scope="module")
def docs() -> Iterator[tuple[httpx.Client, Inbox]]:
    inbox = Inbox()
    with (
        served(inbox.app) as receiver,
        mock_process(
            MOCK_WA_PHONE_NUMBER_ID=PHONE_ID,
            MOCK_WA_ACCESS_TOKEN=TOKEN,
            MOCK_WA_APP_SECRET=SECRET,
            MOCK_WA_WEBHOOK_URL=f"{receiver}/hook",
            MOCK_WA_STATUS_DELAY_SECONDS="0.02",
            MOCK_WA_LOG_LEVEL="warning",
        ) as base,
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        yield client, inbox


@pytest.mark.parametrize(
    "body",
    [TEXT, REPLY_BUTTONS, LIST, CTA_URL, TEMPLATE, IMAGE_BY_LINK, DOCUMENT_BY_LINK],
    ids=["text", "buttons", "list", "cta_url", "template", "image", "document"],
)
def test_documented_send_bodies_are_accepted_with_the_documented_answer(
    docs: tuple[httpx.Client, Inbox], body: dict[str, Any]
) -> None:
    client, _ = docs
    client.post(f"/_mock/phones/{USER}/messages", json={"text": "hi"})  # opens the window
    resp = client.post(SENDS, json=body, headers=AUTH)
    assert resp.status_code == 200, resp.text
    assert_shaped_like(resp.json(), SEND_ANSWER)


def test_inbound_text_and_button_reply_webhooks_are_shaped_like_the_docs(
    docs: tuple[httpx.Client, Inbox],
) -> None:
    client, inbox = docs
    client.post(f"/_mock/phones/{USER}/messages", json={"text": "this is a text message"})
    value = inbox.wait_for(
        lambda v: v.get("messages", [{}])[0].get("text", {}).get("body") == "this is a text message"
    )
    ours = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "0", "changes": [{"field": "messages", "value": value}]}],
    }
    assert_shaped_like(ours, INBOUND_TEXT_WEBHOOK)
    sent = client.post(SENDS, json=REPLY_BUTTONS, headers=AUTH).json()["messages"][0]["id"]
    tap = {
        "type": "interactive",
        "button_reply": {"id": "done", "title": "Done"},
        "context_id": sent,
    }
    client.post(f"/_mock/phones/{USER}/messages", json=tap)
    value = inbox.wait_for(lambda v: v.get("messages", [{}])[0].get("type") == "interactive")
    assert_shaped_like(value["messages"][0], BUTTON_REPLY_MESSAGE)
    assert value["messages"][0]["context"]["id"] == sent


def test_status_webhooks_are_shaped_like_the_docs(docs: tuple[httpx.Client, Inbox]) -> None:
    client, inbox = docs
    client.post(f"/_mock/phones/{USER}/messages", json={"text": "hi"})
    wamid = client.post(
        SENDS, json={**TEXT, "biz_opaque_callback_data": "job-7"}, headers=AUTH
    ).json()["messages"][0]["id"]
    sent = inbox.wait_for(lambda v: v.get("statuses", [{}])[0].get("id") == wamid)
    assert_shaped_like(sent["statuses"][0], SENT_STATUS)
    stranger = "16505176436"
    failed_id = client.post(SENDS, json={**TEXT, "to": stranger}, headers=AUTH).json()["messages"][
        0
    ]["id"]
    failed = inbox.wait_for(lambda v: v.get("statuses", [{}])[0].get("id") == failed_id)
    assert_shaped_like(failed["statuses"][0], FAILED_STATUS)
    assert failed["statuses"][0]["errors"][0]["code"] == 131047


def test_errors_are_shaped_like_the_docs(docs: tuple[httpx.Client, Inbox]) -> None:
    client, _ = docs
    fault = {"target": "messages", "error_code": 130429, "times": 1}
    assert client.post("/_mock/faults", json=fault).status_code == 201
    resp = client.post(SENDS, json=TEXT, headers=AUTH)
    assert resp.status_code == 400
    assert_shaped_like(resp.json(), GRAPH_ERROR)
    assert resp.json()["error"]["message"] == "(#130429) Rate limit hit"


def test_mark_read_and_typing_as_documented(docs: tuple[httpx.Client, Inbox]) -> None:
    client, _ = docs
    inbound = client.post(f"/_mock/phones/{USER}/messages", json={"text": "hi"}).json()["id"]
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": inbound}
    assert client.post(SENDS, json=read, headers=AUTH).json() == {"success": True}
    typing = {**read, "typing_indicator": {"type": "text"}}
    assert client.post(SENDS, json=typing, headers=AUTH).json() == {"success": True}
    reaction = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": USER,
        "type": "reaction",
        "reaction": {
            "message_id": inbound,
            "emoji": "\ud83d\ude00".encode("utf-16", "surrogatepass").decode("utf-16"),
        },
    }
    assert client.post(SENDS, json=reaction, headers=AUTH).status_code == 200
