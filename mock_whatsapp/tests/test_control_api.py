"""The control API cannot be turned against the stack: the default subscriber stays unless
removed on purpose, subscribers only on allowed hosts, and every refusal is a clear 4xx
in the documented shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .conftest import InProcess

PHONE = "15551230000"


def as_json(body: dict[str, Any]) -> dict[str, Any]:
    """The request arguments for a JSON body, escaped as ASCII: a lone surrogate, which
    httpx cannot encode as UTF-8, travels as the escape a client would send."""
    return {"content": json.dumps(body), "headers": {"Content-Type": "application/json"}}


async def webhooks_reach_delivery(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any], text: str
) -> bool:
    await mock.post(f"/_mock/phones/{PHONE}/messages", json={"text": text})
    await drain()
    return text in [m["text"]["body"] for m in receiver.messages()]


def error_code(resp: httpx.Response) -> str:
    return str(resp.json()["error"]["code"])


async def test_the_default_subscriber_is_not_deleted_by_accident(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    refused = await mock.delete("/_mock/webhooks/subscribers/default")
    assert refused.status_code == 409 and error_code(refused) == "default_subscriber"
    assert await webhooks_reach_delivery(mock, receiver, drain, "still wired")


async def test_reset_brings_back_a_default_subscriber_deleted_on_purpose(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    deleted = await mock.delete("/_mock/webhooks/subscribers/default", params={"force": "true"})
    assert deleted.status_code == 204
    assert not await webhooks_reach_delivery(mock, receiver, drain, "into the void")
    kinds = [e["kind"] for e in (await mock.get("/_mock/events/recent")).json()["events"]]
    assert "subscribers.changed" in kinds  # what the inspector shows

    assert (await mock.post("/_mock/reset")).status_code == 200
    listed = (await mock.get("/_mock/webhooks/subscribers")).json()["subscribers"]
    assert [s["id"] for s in listed] == ["default"]
    assert await webhooks_reach_delivery(mock, receiver, drain, "wired again")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://[::1", "invalid_url"),
        ("http://localhost:notaport/x", "invalid_url"),
        ("http://user:pw@localhost/x", "invalid_url"),
        ("http://169.254.169.254/latest/meta-data", "host_not_allowed"),
        ("http://example.com/hook", "host_not_allowed"),
        ("http://delivery.example.com/hook", "host_not_allowed"),
        ("https://\udae1\udc60/x", "host_not_allowed"),
    ],
)
async def test_subscriber_urls_are_checked_before_anything_is_fetched(
    mock: httpx.AsyncClient, receiver: Any, url: str, code: str
) -> None:
    resp = await mock.post(
        "/_mock/webhooks/subscribers", **as_json({"url": url, "verify_token": "good-token"})
    )
    assert resp.status_code == 400, resp.text
    assert error_code(resp) == code
    assert receiver.attempts == 0 and receiver.payloads == []
    listed = (await mock.get("/_mock/webhooks/subscribers")).json()["subscribers"]
    assert [s["id"] for s in listed] == ["default"]


@pytest.mark.parametrize("settings_overrides", [{"webhook_allowed_hosts": "hooks.test"}])
async def test_the_allowlist_is_configurable(mock: httpx.AsyncClient) -> None:
    for url, status in (("http://hooks.test/w", 201), ("http://localhost/w", 400)):
        resp = await mock.post(
            "/_mock/webhooks/subscribers", json={"url": url, "verify_token": "good-token"}
        )
        assert resp.status_code == status, resp.text


async def test_a_failed_handshake_tells_nothing_of_the_endpoint(
    mock: httpx.AsyncClient, receiver: Any
) -> None:
    sender = mock.app.state.business.webhooks  # type: ignore[attr-defined]

    def fail(request: httpx.Request) -> httpx.Response:
        if "unreachable" in str(request.url):
            raise httpx.ConnectError("name or service not known: internal-db.corp")
        return httpx.Response(200, text="secret page content")

    await sender.client.close()
    sender.client = InProcess(fail)
    for url in ("http://localhost/unreachable", "http://localhost/page"):
        resp = await mock.post(
            "/_mock/webhooks/subscribers", json={"url": url, "verify_token": "good-token"}
        )
        assert resp.status_code == 400 and error_code(resp) == "verification_failed"
        assert "internal-db" not in resp.text and "secret page" not in resp.text


async def test_unknown_routes_and_methods_answer_in_the_control_shape(
    mock: httpx.AsyncClient,
) -> None:
    missing = await mock.get("/_mock/nothing-here")
    assert missing.status_code == 404 and error_code(missing) == "not_found"
    wrong = await mock.delete("/_mock/clock")
    assert wrong.status_code == 405 and error_code(wrong) == "method_not_allowed"
    assert {"GET", "PUT"} <= {m.strip() for m in wrong.headers["allow"].split(",")}
    garbled = await mock.post(
        "/_mock/phones", content=b"\xff\xfe{", headers={"Content-Type": "application/json"}
    )
    assert garbled.status_code == 400 and error_code(garbled) == "invalid_request"
    assert "detail" not in garbled.json()


async def test_graph_paths_refuse_in_meta_shape(mock: httpx.AsyncClient) -> None:
    resp = await mock.post(
        "/v21.0/123456789/messages",
        content=b"\xff\xfe{",
        headers={"Content-Type": "application/json", "Authorization": "Bearer test-token"},
    )
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 100
    wrong_method = await mock.put("/v21.0/123456789/messages")
    assert wrong_method.status_code in (400, 405)
    assert "detail" not in wrong_method.json()


@pytest.mark.parametrize(
    "text", ["nul \u0000 inside", "lone surrogate \ud800 inside"], ids=["nul", "surrogate"]
)
async def test_a_phone_text_that_cannot_be_stored_is_refused_and_kept_nowhere(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any], text: str
) -> None:
    resp = await mock.post(f"/_mock/phones/{PHONE}/messages", **as_json({"text": text}))
    assert resp.status_code == 400, resp.text
    assert error_code(resp) == "invalid_request"
    await drain()
    assert (await mock.get(f"/_mock/phones/{PHONE}/messages")).json() == []
    assert receiver.payloads == []


async def test_a_phone_body_that_is_not_utf8_is_refused(mock: httpx.AsyncClient) -> None:
    resp = await mock.post(
        f"/_mock/phones/{PHONE}/messages",
        content=b'{"text": "caf\xe9"}',
        headers={"Content-Type": "application/json"},
    )
    assert resp.status_code == 400 and error_code(resp) == "invalid_request"
    assert (await mock.get(f"/_mock/phones/{PHONE}/messages")).json() == []


@pytest.mark.parametrize(
    "number",
    ["1555123456789012", "+1 555 123 4567 ext 9", "15551234567x", "phone 15551234567"],
)
async def test_phone_numbers_are_e164(mock: httpx.AsyncClient, number: str) -> None:
    resp = await mock.post("/_mock/phones", json={"phone": number})
    assert resp.status_code == 400 and error_code(resp) == "invalid_phone"
    assert (await mock.get("/_mock/phones")).json() == []
    created = await mock.post("/_mock/phones", json={"phone": "+1 (555) 123-4567"})
    assert created.status_code == 201 and created.json()["phone"] == "15551234567"


@pytest.mark.parametrize("now", [1893456000, 1.5, None, True])
async def test_the_clock_moves_only_to_a_written_time(mock: httpx.AsyncClient, now: Any) -> None:
    before = (await mock.get("/_mock/clock")).json()
    resp = await mock.put("/_mock/clock", json={"now": now})
    assert resp.status_code == 400 and error_code(resp) == "invalid_request"
    assert (await mock.get("/_mock/clock")).json()["offset_seconds"] == before["offset_seconds"]


async def test_a_body_over_the_cap_is_refused_in_each_apis_shape(
    mock: httpx.AsyncClient, receiver: Any
) -> None:
    huge = {"text": "x" * (2 * 2**20)}
    control = await mock.post(f"/_mock/phones/{PHONE}/messages", json=huge)
    assert control.status_code == 413 and error_code(control) == "too_large"
    assert (await mock.get(f"/_mock/phones/{PHONE}/messages")).json() == []
    graph = await mock.post(
        "/v21.0/123456789/messages",
        json={"messaging_product": "whatsapp", "to": PHONE, "text": {"body": "x" * 2**21}},
        headers={"Authorization": "Bearer test-token"},
    )
    assert graph.status_code == 413 and graph.json()["error"]["code"] == 100


async def test_media_uploads_may_be_as_large_as_meta_allows(mock: httpx.AsyncClient) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 2**20)
    resp = await mock.post(
        "/v21.0/123456789/media",
        data={"messaging_product": "whatsapp", "type": "image/png"},
        files={"file": ("big.png", png, "image/png")},
        headers={"Authorization": "Bearer test-token"},
    )
    assert resp.status_code == 200, resp.text[:300]
