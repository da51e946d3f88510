"""Status webhooks carry `conversation` and `pricing` as Meta sends them: with `sent` and
the first of `delivered`/`read`, per category (service, utility, marketing,
authentication), free inside the customer-service window for service and utility."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

WABA = "200000000000001"
MESSAGES = "/v21.0/123456789/messages"
AUTH = {"Authorization": "Bearer test-token"}
PHONE = "15557654321"

MARKETING = {
    "name": "summer_sale",
    "language": "en_US",
    "category": "MARKETING",
    "components": [{"type": "BODY", "text": "Our summer sale starts today."}],
}
AUTHENTICATION = {
    "name": "login_code",
    "language": "en_US",
    "category": "AUTHENTICATION",
    "components": [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]},
    ],
}


def template(name: str, *parameters: str) -> dict[str, Any]:
    components = (
        [{"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}]
        if parameters
        else []
    )
    return {
        "messaging_product": "whatsapp",
        "to": PHONE,
        "type": "template",
        "template": {"name": name, "language": {"code": "en_US"}, "components": components},
    }


def text(body: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": PHONE, "type": "text", "text": {"body": body}}


async def approved(mock: httpx.AsyncClient, submission: dict[str, Any]) -> None:
    created = await mock.post(f"/v21.0/{WABA}/message_templates", json=submission, headers=AUTH)
    assert created.status_code == 200, created.text
    review = await mock.post(
        f"/_mock/templates/{created.json()['id']}/review", json={"status": "APPROVED"}
    )
    assert review.status_code == 200


async def statuses_of(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any], body: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    sent = await mock.post(MESSAGES, json=body, headers=AUTH)
    assert sent.status_code == 200, sent.text
    await drain()
    wamid = sent.json()["messages"][0]["id"]
    return {s["status"]: s for s in receiver.statuses() if s["id"] == wamid}


async def phone_writes(mock: httpx.AsyncClient) -> None:
    wrote = await mock.post(f"/_mock/phones/{PHONE}/messages", json={"text": "hi"})
    assert wrote.status_code == 201


async def test_service_reply_in_the_window_is_free_and_shares_a_conversation(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    await phone_writes(mock)
    first = await statuses_of(mock, receiver, drain, text("Welcome!"))
    sent, delivered, read = first["sent"], first["delivered"], first["read"]
    conversation = sent["conversation"]
    assert set(conversation) == {"id", "expiration_timestamp", "origin"}
    assert len(conversation["id"]) == 32 and conversation["origin"] == {"type": "service"}
    expires_in = int(conversation["expiration_timestamp"]) - int(sent["timestamp"])
    assert 24 * 3600 - 5 <= expires_in <= 24 * 3600
    assert sent["pricing"] == {
        "billable": False,
        "pricing_model": "PMP",
        "type": "free_customer_service",
        "category": "service",
    }
    # The first of delivered/read repeats them (without the expiration); read does not.
    assert delivered["conversation"] == {"id": conversation["id"], "origin": {"type": "service"}}
    assert delivered["pricing"] == sent["pricing"]
    assert "conversation" not in read and "pricing" not in read

    second = await statuses_of(mock, receiver, drain, text("How are you?"))
    assert second["sent"]["conversation"]["id"] == conversation["id"]


@pytest.mark.parametrize(
    ("submission", "body", "in_window", "category", "billable"),
    [
        (None, template("hello_world"), True, "utility", False),
        (None, template("hello_world"), False, "utility", True),
        (MARKETING, template("summer_sale"), True, "marketing", True),
        (MARKETING, template("summer_sale"), False, "marketing", True),
        (AUTHENTICATION, template("login_code", "123456"), False, "authentication", True),
    ],
    ids=[
        "utility-in-window",
        "utility-outside",
        "marketing-in-window",
        "marketing-outside",
        "authentication",
    ],
)
async def test_template_statuses_are_priced_by_category(
    mock: httpx.AsyncClient,
    receiver: Any,
    drain: Callable[[], Any],
    submission: dict[str, Any] | None,
    body: dict[str, Any],
    in_window: bool,
    category: str,
    billable: bool,
) -> None:
    if submission is not None:
        await approved(mock, submission)
    if in_window:
        await phone_writes(mock)
    sent = (await statuses_of(mock, receiver, drain, body))["sent"]
    assert sent["conversation"]["origin"] == {"type": category}
    assert sent["pricing"] == {
        "billable": billable,
        "pricing_model": "PMP",
        "type": "regular" if billable else "free_customer_service",
        "category": category,
    }


async def test_a_read_without_delivered_carries_the_pricing(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    quirks = await mock.put("/_mock/status-quirks", json={"skip_delivered": 1.0})
    assert quirks.status_code == 200
    statuses = await statuses_of(mock, receiver, drain, template("hello_world"))
    assert set(statuses) == {"sent", "read"}
    assert statuses["read"]["pricing"]["category"] == "utility"
    assert "expiration_timestamp" not in statuses["read"]["conversation"]


async def test_failed_statuses_carry_no_pricing(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    failed = (await statuses_of(mock, receiver, drain, text("outside the window")))["failed"]
    assert failed["errors"][0]["code"] == 131047
    assert "pricing" not in failed and "conversation" not in failed
