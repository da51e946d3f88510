"""Templates as a WhatsApp team lives them: Meta's hello_world, creating templates through
the Graph API with Meta's validation errors, a review that time travel or the control API
decides, signed message_template_status_update webhooks, and sends refused until a
template is approved."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

WABA = "200000000000001"  # the default number's WABA (settings)
TEMPLATES = f"/v21.0/{WABA}/message_templates"
MESSAGES = "/v21.0/123456789/messages"
AUTH = {"Authorization": "Bearer test-token"}
PHONE = "15557654321"


def streak_template(name: str = "streak_update", **changes: Any) -> dict[str, Any]:
    """A submission as Meta's docs write one: header, body, footer, buttons, examples."""
    body: dict[str, Any] = {
        "name": name,
        "language": "en_US",
        "category": "MARKETING",
        "components": [
            {
                "type": "HEADER",
                "format": "TEXT",
                "text": "Day {{1}}",
                "example": {"header_text": ["12"]},
            },
            {
                "type": "BODY",
                "text": "Well done {{1}}, that is {{2}} days in a row!",
                "example": {"body_text": [["Ada", "12"]]},
            },
            {"type": "FOOTER", "text": "Reply STOP to stop these"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "QUICK_REPLY", "text": "Thanks"},
                    {
                        "type": "URL",
                        "text": "See streak",
                        "url": "https://coach.test/streak/{{1}}",
                        "example": ["https://coach.test/streak/ada"],
                    },
                ],
            },
        ],
    }
    body.update(changes)
    return body


def send_streak(name: str = "streak_update") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": PHONE,
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": "en_US"},
            "components": [
                {"type": "header", "parameters": [{"type": "text", "text": "3"}]},
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": "Ada"}, {"type": "text", "text": "3"}],
                },
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "1",
                    "parameters": [{"type": "text", "text": "ada"}],
                },
            ],
        },
    }


def template_updates(receiver: Any) -> list[dict[str, Any]]:
    return [
        {"waba": e["id"], "time": e["time"], **c["value"]}
        for p in receiver.payloads
        for e in p["entry"]
        for c in e["changes"]
        if c["field"] == "message_template_status_update"
    ]


async def eventually(probe: Callable[[], Any], timeout: float = 5) -> Any:
    """Wait for the mock's background work (the review, webhooks) to make probe true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        value = probe()
        if value:
            return value
        await asyncio.sleep(0.01)
    pytest.fail("the expected change did not happen")


async def create(mock: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    resp = await mock.post(TEMPLATES, json=body, headers=AUTH)
    assert resp.status_code == 200, resp.text
    created: dict[str, Any] = resp.json()
    return created


async def travel(mock: httpx.AsyncClient, by: timedelta) -> None:
    now = datetime.fromisoformat((await mock.get("/_mock/clock")).json()["now"])
    moved = await mock.put("/_mock/clock", json={"now": (now + by).isoformat()})
    assert moved.status_code == 200


async def test_every_waba_starts_with_hello_world_approved(mock: httpx.AsyncClient) -> None:
    resp = await mock.get(
        TEMPLATES,
        params={"fields": "name,status,category,language", "summary": "total_count"},
        headers=AUTH,
    )
    assert resp.status_code == 200, resp.text
    listing = resp.json()
    hello = next(t for t in listing["data"] if t["name"] == "hello_world")
    assert hello == {
        "name": "hello_world",
        "status": "APPROVED",
        "category": "UTILITY",
        "language": "en_US",
        "id": hello["id"],
    }
    assert {t["name"] for t in listing["data"]} >= {"habit_checkin", "daily_prompt_reminder"}
    assert listing["summary"] == {"total_count": len(listing["data"])}
    assert set(listing["paging"]["cursors"]) == {"before", "after"}


async def test_created_template_waits_for_review_then_time_travel_approves_it(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    created = await create(mock, streak_template())
    assert created == {"id": created["id"], "status": "PENDING", "category": "MARKETING"}

    # In review, a send is refused as Meta refuses one of a template not approved.
    early = await mock.post(MESSAGES, json=send_streak(), headers=AUTH)
    assert early.status_code == 404
    assert early.json()["error"]["code"] == 132001

    await travel(mock, timedelta(minutes=2))
    [update] = await eventually(lambda: template_updates(receiver))
    assert update == {
        "waba": WABA,
        "time": update["time"],
        "event": "APPROVED",
        "message_template_id": int(created["id"]),
        "message_template_name": "streak_update",
        "message_template_language": "en_US",
        "reason": "NONE",
        "message_template_category": "MARKETING",
    }
    listed = (await mock.get(TEMPLATES, params={"name": "streak"}, headers=AUTH)).json()["data"]
    assert [t["status"] for t in listed] == ["APPROVED"]

    # The phone never wrote: outside the 24-hour window only a template gets through.
    sent = await mock.post(MESSAGES, json=send_streak(), headers=AUTH)
    assert sent.status_code == 200, sent.text
    await drain()
    [message] = (await mock.get(f"/_mock/phones/{PHONE}/messages")).json()
    assert message["text"] == "Well done Ada, that is 3 days in a row!"
    assert message["status"] == "read"
    assert message["template"]["header"] == "Day 3"
    assert message["template"]["footer"] == "Reply STOP to stop these"
    assert message["template"]["buttons"][1] == {
        "type": "url",
        "url": "https://coach.test/streak/ada",
    }
    statuses = [s for s in receiver.statuses() if s["id"] == message["id"]]
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert statuses[0]["pricing"] == {
        "billable": True,
        "pricing_model": "PMP",
        "type": "regular",
        "category": "marketing",
    }


async def test_rejected_template_cannot_be_sent(mock: httpx.AsyncClient, receiver: Any) -> None:
    created = await create(mock, streak_template("weekly_promo"))
    decided = await mock.post(
        f"/_mock/templates/{created['id']}/review",
        json={"status": "REJECTED", "reason": "PROMOTIONAL"},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["template"]["status"] == "REJECTED"
    [update] = await eventually(lambda: template_updates(receiver))
    assert (update["event"], update["reason"]) == ("REJECTED", "PROMOTIONAL")

    refused = await mock.post(MESSAGES, json=send_streak("weekly_promo"), headers=AUTH)
    assert refused.status_code == 404
    error = refused.json()["error"]
    assert error["code"] == 132001
    assert "weekly_promo" in error["error_data"]["details"]
    assert "REJECTED" in error["error_data"]["details"]
    assert (await mock.get(f"/_mock/phones/{PHONE}/messages")).json() == []
    listed = (await mock.get(TEMPLATES, params={"status": "rejected"}, headers=AUTH)).json()
    assert [t["name"] for t in listed["data"]] == ["weekly_promo"]

    # Time passing does not approve a rejected template.
    await travel(mock, timedelta(hours=1))
    assert (await mock.get(f"/_mock/templates?waba_id={WABA}")).json()["templates"][-1][
        "status"
    ] == "REJECTED"


async def test_the_same_decision_twice_is_told_once(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    created = await create(mock, streak_template())
    review = f"/_mock/templates/{created['id']}/review"
    for _ in range(2):
        decided = await mock.post(review, json={"status": "APPROVED"})
        assert decided.status_code == 200
    bad = await mock.post(review, json={"status": "APPROVED", "reason": "SCAM"})
    assert bad.status_code == 400  # a reason is for rejections only
    unknown = await mock.post("/_mock/templates/42/review", json={"status": "APPROVED"})
    assert unknown.status_code == 404
    await drain()
    assert [u["event"] for u in template_updates(receiver)] == ["APPROVED"]


@pytest.mark.parametrize(
    ("status", "code"), [("PAUSED", 132015), ("DISABLED", 132016), ("PENDING", 132001)]
)
async def test_paused_disabled_or_held_templates_are_refused_with_metas_code(
    mock: httpx.AsyncClient, receiver: Any, status: str, code: int
) -> None:
    created = await create(mock, streak_template())
    await mock.post(f"/_mock/templates/{created['id']}/review", json={"status": "APPROVED"})
    await mock.post(f"/_mock/templates/{created['id']}/review", json={"status": status})
    await travel(mock, timedelta(hours=1))  # a held review is not decided by time
    refused = await mock.post(MESSAGES, json=send_streak(), headers=AUTH)
    assert refused.json()["error"]["code"] == code
    events = [u["event"] for u in await eventually(lambda: template_updates(receiver)[1:])]
    assert events == [status]


async def test_disabled_template_cannot_be_deleted_and_others_can(
    mock: httpx.AsyncClient,
) -> None:
    created = await create(mock, streak_template())
    await mock.post(f"/_mock/templates/{created['id']}/review", json={"status": "DISABLED"})
    kept = await mock.delete(TEMPLATES, params={"name": "streak_update"}, headers=AUTH)
    assert kept.status_code == 400 and kept.json()["error"]["code"] == 100
    gone = await mock.delete(TEMPLATES, params={"name": "hello_world"}, headers=AUTH)
    assert gone.json() == {"success": True}
    names = {t["name"] for t in (await mock.get(TEMPLATES, headers=AUTH)).json()["data"]}
    assert "hello_world" not in names and "streak_update" in names
    missing = await mock.delete(TEMPLATES, params={"name": "hello_world"}, headers=AUTH)
    assert missing.status_code == 400


def _without(body: dict[str, Any], component: str, key: str) -> dict[str, Any]:
    for c in body["components"]:
        if c["type"] == component:
            c.pop(key)
    return body


@pytest.mark.parametrize(
    ("body", "subcode", "needle"),
    [
        (streak_template("Streak Update"), None, "lowercase"),
        (streak_template("streak-update"), None, "lowercase"),
        (streak_template(category="PROMOTIONS"), None, "category must be one of"),
        (streak_template(language="xx_YY"), None, "language"),
        (_without(streak_template(), "BODY", "example"), 2388043, "BODY"),
        (_without(streak_template(), "HEADER", "example"), 2388043, "HEADER"),
        (streak_template(components=[{"type": "FOOTER", "text": "x"}]), None, "BODY"),
    ],
    ids=[
        "capitals",
        "hyphen",
        "unknown-category",
        "unknown-language",
        "body-example",
        "header-example",
        "no-body",
    ],
)
async def test_submissions_refused_as_meta_refuses_them(
    mock: httpx.AsyncClient, body: dict[str, Any], subcode: int | None, needle: str
) -> None:
    before = (await mock.get("/_mock/templates")).json()["templates"]
    resp = await mock.post(TEMPLATES, json=body, headers=AUTH)
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == 100 and error["type"] == "OAuthException"
    assert error.get("error_subcode") == subcode
    assert needle in error["error_data"]["details"]
    assert (await mock.get("/_mock/templates")).json()["templates"] == before


async def test_a_name_and_language_taken_is_metas_duplicate_error(
    mock: httpx.AsyncClient,
) -> None:
    hello = {
        "name": "hello_world",
        "language": "en_US",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Hello again"}],
    }
    resp = await mock.post(TEMPLATES, json=hello, headers=AUTH)
    error = resp.json()["error"]
    assert (resp.status_code, error["code"], error["error_subcode"]) == (400, 100, 2388024)
    assert error["error_user_title"] == "Content in This Language Already Exists"
    assert "English (US)" in error["error_user_msg"]
    # Another language of the same name is a new template.
    spanish = await mock.post(TEMPLATES, json={**hello, "language": "es"}, headers=AUTH)
    assert spanish.status_code == 200, spanish.text


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    other = {
        "phone_number_id": "555000111",
        "display_phone_number": "15550009999",
        "access_token": "other-token",
        "waba_id": "300000000000003",
    }
    return {"extra_numbers": json.dumps([other])}


async def test_templates_belong_to_their_waba(mock: httpx.AsyncClient) -> None:
    await create(mock, streak_template())
    other = {"Authorization": "Bearer other-token"}
    theirs = await mock.get("/v21.0/300000000000003/message_templates", headers=other)
    names = {t["name"] for t in theirs.json()["data"]}
    assert "hello_world" in names and "streak_update" not in names
    # A token may manage only the WABAs of its numbers.
    foreign = await mock.get(TEMPLATES, headers=other)
    assert foreign.status_code == 400 and foreign.json()["error"]["code"] == 100


async def test_a_template_whose_text_cannot_be_stored_is_refused_and_not_kept(
    mock: httpx.AsyncClient,
) -> None:
    body = streak_template("nul_inside")
    body["components"][1]["text"] = "Well done {{1}} \u0000"
    resp = await mock.post(f"/v21.0/{WABA}/message_templates", json=body, headers=AUTH)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == 100
    listed = await mock.get(f"/v21.0/{WABA}/message_templates", headers=AUTH)
    assert "nul_inside" not in {t["name"] for t in listed.json()["data"]}
