"""`value.errors[]` system webhooks: on demand from the control API, and as a messages
fault whose error comes by webhook after the send was accepted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

MESSAGES = "/v21.0/123456789/messages"
AUTH = {"Authorization": "Bearer test-token"}


def system_errors(receiver: Any) -> list[dict[str, Any]]:
    return [
        c["value"]
        for p in receiver.payloads
        for e in p["entry"]
        for c in e["changes"]
        if "errors" in c["value"]
    ]


async def test_control_api_sends_a_signed_errors_webhook(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    resp = await mock.post(
        "/_mock/webhooks/errors", json={"error_code": 130429, "details": "Too many messages"}
    )
    assert resp.status_code == 201, resp.text
    await drain()
    [value] = system_errors(receiver)  # the receiver checked its signature
    assert value == {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001234", "phone_number_id": "123456789"},
        "errors": [
            {
                "code": 130429,
                "title": "Rate limit hit",
                "message": "Rate limit hit",
                "error_data": {"details": "Too many messages"},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ],
    }
    assert "messages" not in value and "statuses" not in value


async def test_unknown_codes_and_numbers_are_refused(mock: httpx.AsyncClient) -> None:
    bad_code = await mock.post("/_mock/webhooks/errors", json={"error_code": 999})
    assert bad_code.status_code == 400
    assert bad_code.json()["error"]["code"] == "invalid_request"
    bad_number = await mock.post(
        "/_mock/webhooks/errors", json={"error_code": 131000, "phone_number_id": "42"}
    )
    assert bad_number.status_code == 404


async def test_fault_reported_by_webhook_accepts_the_send_then_reports_it(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    fault = await mock.post(
        "/_mock/faults",
        json={"target": "messages", "error_code": 131000, "report": "webhook", "times": 1},
    )
    assert fault.status_code == 201, fault.text
    body = {
        "messaging_product": "whatsapp",
        "to": "15557654321",
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }
    sent = await mock.post(MESSAGES, json=body, headers=AUTH)
    assert sent.status_code == 200, sent.text
    wamid = sent.json()["messages"][0]["id"]
    await drain()
    [value] = system_errors(receiver)
    assert value["errors"][0]["code"] == 131000
    assert wamid in value["errors"][0]["error_data"]["details"]
    # Meta could not process it: the phone got nothing and no status follows.
    assert (await mock.get("/_mock/phones/15557654321/messages")).json() == []
    assert receiver.statuses() == []
    # The fault is used up: the next send goes through.
    again = await mock.post(MESSAGES, json=body, headers=AUTH)
    await drain()
    assert [s["status"] for s in receiver.statuses()] == ["sent", "delivered", "read"]
    assert again.status_code == 200


async def test_webhook_report_needs_a_messages_error(mock: httpx.AsyncClient) -> None:
    for spec in (
        {"target": "media", "error_code": 131000, "report": "webhook"},
        {"target": "messages", "latency_ms": 10, "report": "webhook"},
    ):
        resp = await mock.post("/_mock/faults", json=spec)
        assert resp.status_code == 400, spec


async def test_details_that_cannot_be_stored_are_refused_and_nothing_is_sent(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    resp = await mock.post(
        "/_mock/webhooks/errors", json={"error_code": 130429, "details": "nul \u0000 inside"}
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "invalid_request"
    await drain()
    assert system_errors(receiver) == []
