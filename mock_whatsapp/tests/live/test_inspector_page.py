"""The web inspector in headless Chromium: what the mock does shows up live, and the page
drives the mock through its control API."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from .conftest import PHONE_NUMBER_ID, TOKEN, Webhooks

pytestmark = pytest.mark.browser

PHONE = "15551234567"
WAIT_MS = 10_000


def eventually(probe: Callable[[], Any], what: str) -> Any:
    """Poll `probe` until it returns something truthy; the mock works in the background."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def business_sends(mock_url: str, body: dict[str, Any]) -> str:
    response = httpx.post(
        f"{mock_url}/v21.0/{PHONE_NUMBER_ID}/messages",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"messaging_product": "whatsapp", "to": PHONE, **body},
    )
    assert response.status_code == 200, response.text
    wamid: str = response.json()["messages"][0]["id"]
    return wamid


def test_a_phone_message_appears_live_without_reload(page: Page, mock_url: str) -> None:
    page.evaluate("window.notReloaded = true")
    sent = httpx.post(f"{mock_url}/_mock/phones/{PHONE}/messages", json={"text": "Hello coach"})
    assert sent.status_code == 201

    conversation = page.locator(f"li[data-phone='{PHONE}']")
    expect(conversation).to_contain_text("Hello coach", timeout=WAIT_MS)
    conversation.click()
    bubble = page.locator(f".bubble[data-id='{sent.json()['id']}']")
    expect(bubble).to_contain_text("Hello coach")
    expect(bubble).to_have_class(re.compile(r"\binbound\b"))
    assert page.evaluate("window.notReloaded") is True


def test_the_business_reading_and_typing_show_live(page: Page, mock_url: str) -> None:
    sent = httpx.post(f"{mock_url}/_mock/phones/{PHONE}/messages", json={"text": "Anyone there?"})
    page.locator(f"li[data-phone='{PHONE}']").click()
    own = page.locator(f".bubble[data-id='{sent.json()['id']}'] .ticks")
    expect(own).to_have_attribute("title", "delivered to the business", timeout=WAIT_MS)

    read = httpx.post(
        f"{mock_url}/v21.0/{PHONE_NUMBER_ID}/messages",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": sent.json()["id"],
            "typing_indicator": {"type": "text"},
        },
    )
    assert read.status_code == 200, read.text
    expect(own).to_have_class(re.compile(r"\bread\b"), timeout=WAIT_MS)
    expect(page.locator("#chat-typing")).to_have_text("business is typing…", timeout=WAIT_MS)
    expect(page.locator(f"li[data-phone='{PHONE}']")).to_contain_text("typing…")

    business_sends(mock_url, {"type": "text", "text": {"body": "Right here!"}})
    expect(page.locator("#chat-typing")).to_have_count(0, timeout=WAIT_MS)
    expect(page.locator(f"li[data-phone='{PHONE}']")).to_contain_text("Right here!")


def test_a_webhook_delivery_shows_its_payload_signature_and_response(
    page: Page, mock_url: str, webhooks: tuple[Webhooks, str]
) -> None:
    received, url = webhooks
    httpx.post(f"{mock_url}/_mock/phones/{PHONE}/messages", json={"text": "Sign me"})
    eventually(lambda: received.texts() == ["Sign me"], "the receiver got the webhook")
    [signature] = received.signatures

    delivery = page.locator("details.delivery").filter(has_text="Sign me")
    expect(delivery).to_contain_text("delivered", timeout=WAIT_MS)
    expect(delivery).to_contain_text("200")
    delivery.locator("summary").click()
    expect(delivery.locator(".signature")).to_have_text(signature)
    expect(delivery).to_contain_text(url)
    expect(delivery.locator("table.attempts")).to_contain_text("HTTP 200")
    payload = json.loads(delivery.locator("pre.json").inner_text())
    assert payload == received.received[0]


def test_deliveries_can_be_narrowed_to_the_open_chat(page: Page, mock_url: str) -> None:
    httpx.post(f"{mock_url}/_mock/phones/{PHONE}/messages", json={"text": "From Ada"})
    httpx.post(f"{mock_url}/_mock/phones/15559876543/messages", json={"text": "From Bob"})
    deliveries = page.locator("details.delivery")
    expect(deliveries).to_have_count(2, timeout=WAIT_MS)
    page.locator(f"li[data-phone='{PHONE}']").click()
    page.check("#only-selected")
    expect(deliveries).to_have_count(1)
    expect(deliveries).to_contain_text("From Ada")
    page.uncheck("#only-selected")
    expect(deliveries).to_have_count(2)


def test_a_message_sent_from_the_page_reaches_the_webhook_and_the_chat(
    page: Page, mock_url: str, webhooks: tuple[Webhooks, str]
) -> None:
    received, _ = webhooks
    page.fill("#new-chat-number", "+1 555 123 4567")
    page.click("#new-chat button")
    page.fill("#composer-text", "Typed in the inspector")
    page.click("#composer-send")

    expect(page.locator(".bubble.inbound")).to_contain_text(
        "Typed in the inspector", timeout=WAIT_MS
    )
    expect(page.locator("#composer-text")).to_have_value("")
    eventually(lambda: received.texts() == ["Typed in the inspector"], "the webhook")
    chat = httpx.get(f"{mock_url}/_mock/phones/{PHONE}/messages").json()
    assert [(m["direction"], m["text"]) for m in chat] == [("inbound", "Typed in the inspector")]


def test_business_replies_show_their_ticks_and_buttons_can_be_tapped(
    page: Page, mock_url: str, webhooks: tuple[Webhooks, str]
) -> None:
    received, _ = webhooks
    httpx.post(f"{mock_url}/_mock/phones/{PHONE}/messages", json={"text": "Hi"})
    page.locator(f"li[data-phone='{PHONE}']").click(timeout=WAIT_MS)
    wamid = business_sends(
        mock_url,
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Did you do it today?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "done", "title": "Done"}},
                        {"type": "reply", "reply": {"id": "later", "title": "Next time"}},
                    ]
                },
            },
        },
    )
    question = page.locator(f".bubble[data-id='{wamid}']")
    expect(question).to_contain_text("Did you do it today?", timeout=WAIT_MS)
    # sent, delivered, read: the blue ticks arrive live.
    expect(question).to_have_attribute("data-status", "read", timeout=WAIT_MS)
    expect(question.locator(".ticks.read")).to_have_text("✓✓")

    question.get_by_role("button", name="Done").click()
    answer = page.locator(".bubble.inbound").filter(has_text="Done")
    expect(answer).to_contain_text("tapped button", timeout=WAIT_MS)
    expect(answer.locator(".context")).to_have_text("Did you do it today?")
    eventually(lambda: "Done" in received.texts(), "the tap's webhook")
    [tap] = [
        m
        for p in received.received
        for m in p["entry"][0]["changes"][0]["value"].get("messages", [])
        if m["type"] == "interactive"
    ]
    assert tap["interactive"]["button_reply"] == {"id": "done", "title": "Done"}
    assert tap["context"]["id"] == wamid


def test_templates_and_lists_are_shown_and_a_list_row_can_be_chosen(
    page: Page, mock_url: str, webhooks: tuple[Webhooks, str]
) -> None:
    received, _ = webhooks
    httpx.post(f"{mock_url}/_mock/phones/{PHONE}/messages", json={"text": "Hi"})
    page.locator(f"li[data-phone='{PHONE}']").click(timeout=WAIT_MS)
    reminder = business_sends(
        mock_url,
        {
            "type": "template",
            "template": {
                "name": "daily_prompt_reminder",
                "language": {"code": "en"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "Ada"},
                            {"type": "text", "text": "stretch"},
                        ],
                    }
                ],
            },
        },
    )
    bubble = page.locator(f".bubble[data-id='{reminder}']")
    expect(bubble.locator(".kind")).to_have_text("template · daily_prompt_reminder")
    expect(bubble).to_contain_text("Hi Ada, your daily habit is waiting: stretch.")

    menu = business_sends(
        mock_url,
        {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "header": {"type": "text", "text": "Reschedule"},
                "body": {"text": "When shall I ask again?"},
                "footer": {"text": "You can change it later"},
                "action": {
                    "button": "Pick a time",
                    "sections": [
                        {
                            "title": "Today",
                            "rows": [
                                {"id": "evening", "title": "This evening", "description": "18:00"},
                                {"id": "night", "title": "Tonight"},
                            ],
                        },
                        {"title": "Later", "rows": [{"id": "tomorrow", "title": "Tomorrow"}]},
                    ],
                },
            },
        },
    )
    listing = page.locator(f".bubble[data-id='{menu}']")
    expect(listing).to_contain_text("Reschedule", timeout=WAIT_MS)
    expect(listing.locator(".footer")).to_have_text("You can change it later")
    expect(listing.locator(".choices button")).to_have_count(3)
    listing.get_by_role("button", name="This evening").click()
    answer = page.locator(".bubble.inbound").filter(has_text="This evening")
    expect(answer.locator(".kind")).to_have_text("chose from list", timeout=WAIT_MS)
    eventually(
        lambda: any(
            m.get("interactive", {}).get("type") == "list_reply"
            for p in list(received.received)
            for m in p["entry"][0]["changes"][0]["value"].get("messages", [])
        ),
        "the list reply's webhook",
    )
    [reply] = [
        m["interactive"]["list_reply"]
        for p in received.received
        for m in p["entry"][0]["changes"][0]["value"].get("messages", [])
        if m["type"] == "interactive"
    ]
    assert reply == {"id": "evening", "title": "This evening", "description": "18:00"}


def test_a_failed_send_shows_the_error(page: Page, mock_url: str) -> None:
    # The phone never wrote, so the 24-hour window is closed: accepted, then failed.
    page.fill("#new-chat-number", PHONE)
    page.click("#new-chat button")
    wamid = business_sends(mock_url, {"type": "text", "text": {"body": "Out of the blue"}})
    bubble = page.locator(f".bubble[data-id='{wamid}']")
    expect(bubble).to_have_attribute("data-status", "failed", timeout=WAIT_MS)
    expect(bubble.locator(".error")).to_contain_text("131047")


def test_the_choices_of_a_message_that_failed_cannot_be_tapped(page: Page, mock_url: str) -> None:
    page.fill("#new-chat-number", PHONE)
    page.click("#new-chat button")
    wamid = business_sends(
        mock_url,
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Never arrives"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "A"}}]},
            },
        },
    )
    bubble = page.locator(f".bubble[data-id='{wamid}']")
    expect(bubble).to_have_attribute("data-status", "failed", timeout=WAIT_MS)
    expect(bubble.get_by_role("button", name="A")).to_be_disabled()


def test_a_refused_api_call_is_counted_and_listed(page: Page, mock_url: str) -> None:
    refused = httpx.post(
        f"{mock_url}/v21.0/{PHONE_NUMBER_ID}/messages",
        headers={"Authorization": "Bearer wrong"},
        json={"messaging_product": "whatsapp", "to": PHONE, "text": {"body": "x"}},
    )
    assert refused.status_code == 401
    expect(page.locator("#errors-count")).to_have_text("1", timeout=WAIT_MS)
    page.click("[data-tab=events]")
    error = page.locator("#event-list li").filter(has_text="api.error")
    expect(error).to_contain_text('"code":190')


def test_reset_empties_the_page(page: Page, mock_url: str) -> None:
    httpx.post(f"{mock_url}/_mock/phones/{PHONE}/messages", json={"text": "Forget me"})
    expect(page.locator(f"li[data-phone='{PHONE}']")).to_be_visible(timeout=WAIT_MS)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#reset")
    expect(page.locator("#phone-list li")).to_have_count(0, timeout=WAIT_MS)
    expect(page.locator("#delivery-list li")).to_have_count(0)
    expect(page.locator("#no-phones")).to_be_visible()


def test_a_deleted_default_subscriber_shows_until_reset(page: Page, mock_url: str) -> None:
    notice = page.locator("#no-default-subscriber")
    expect(notice).to_be_hidden()
    deleted = httpx.delete(f"{mock_url}/_mock/webhooks/subscribers/default?force=true")
    assert deleted.status_code == 204
    expect(notice).to_be_visible(timeout=WAIT_MS)
    page.reload()
    expect(notice).to_be_visible(timeout=WAIT_MS)
    httpx.post(f"{mock_url}/_mock/reset")
    expect(notice).to_be_hidden(timeout=WAIT_MS)


def test_the_page_catches_up_after_the_stream_drops(page: Page, mock_url: str) -> None:
    page.evaluate("window.notReloaded = true")
    # Cut the stream from the page's side; it reconnects and loads what it missed.
    page.evaluate("socket.onopen = null; socket.close()")
    httpx.post(f"{mock_url}/_mock/phones/{PHONE}/messages", json={"text": "While away"})
    expect(page.locator(f"li[data-phone='{PHONE}']")).to_contain_text("While away", timeout=WAIT_MS)
    expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    assert page.evaluate("window.notReloaded") is True


# --- the faults panel, against the mock's own fault API ----------------------------------


def test_the_faults_panel_says_when_the_mock_has_no_fault_api(page: Page) -> None:
    page.route(
        re.compile(r".*/_mock/faults$"),
        lambda route: route.fulfill(
            status=404, json={"error": {"code": "not_found", "message": "Not Found"}}
        ),
    )
    page.click("[data-tab=faults]")
    expect(page.locator("#faults-unavailable")).to_have_text(
        "Faults unavailable: this mock has no fault API.", timeout=WAIT_MS
    )
    expect(page.locator("#fault-form")).to_be_hidden()


def test_the_faults_panel_creates_lists_deletes_faults_and_switches_limits(
    page: Page, mock_url: str
) -> None:
    httpx.delete(f"{mock_url}/_mock/faults")
    httpx.put(f"{mock_url}/_mock/limits", json={"window_24h": True})
    page.click("[data-tab=faults]")
    expect(page.locator("#no-faults")).to_be_visible(timeout=WAIT_MS)

    form = page.locator("#fault-form")
    form.locator("select[name=target]").select_option("webhooks")
    form.locator("input[name=probability]").fill("0.5")
    form.locator("select[name=webhook]").select_option("delay")
    form.locator("input[name=delay_seconds]").fill("3")
    form.locator("input[name=times]").fill("2")
    form.get_by_role("button", name="Add fault").click()
    listed = page.locator("#fault-list li")
    expect(listed).to_have_count(1, timeout=WAIT_MS)
    expect(listed).to_contain_text("webhooks · p=0.5 · webhook delay 3s · 2 times")
    [created] = httpx.get(f"{mock_url}/_mock/faults").json()["faults"]
    assert (created["target"], created["webhook"], created["probability"]) == (
        "webhooks",
        "delay",
        0.5,
    )
    assert (created["delay_seconds"], created["times"], created["hits"]) == (3, 2, 0)

    page.locator("#limits input[name=window_24h]").uncheck()
    expect(page.locator("#limits input[name=window_24h]")).not_to_be_checked()
    expect_soon(
        lambda: httpx.get(f"{mock_url}/_mock/faults").json()["limits"]["window_24h"] is False
    )

    listed.get_by_role("button", name="Remove").click()
    expect(listed).to_have_count(0, timeout=WAIT_MS)
    assert httpx.get(f"{mock_url}/_mock/faults").json()["faults"] == []
    httpx.put(f"{mock_url}/_mock/limits", json={"window_24h": True})


def expect_soon(condition: Callable[[], bool]) -> None:
    """Wait (up to the page timeout) for the mock to reflect what the page asked."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while not condition():
        assert time.monotonic() < deadline, "the mock did not change in time"
        time.sleep(0.05)


def test_a_browser_event_source_replays_and_follows_the_sse_stream(
    page: Page, mock_url: str
) -> None:
    # The page itself uses the WebSocket; this checks the SSE framing with the browser's
    # own EventSource, which is what a dashboard of one's own would use.
    httpx.post(f"{mock_url}/_mock/phones/{PHONE}/messages", json={"text": "Before"})
    page.evaluate(
        """() => {
        window.seen = [];
        const source = new EventSource("/_mock/events?after=0");
        source.addEventListener("message.inbound", (e) =>
            window.seen.push({ id: e.lastEventId, event: JSON.parse(e.data) }));
        }"""
    )
    httpx.post(f"{mock_url}/_mock/phones/{PHONE}/messages", json={"text": "Over SSE"})
    page.wait_for_function("window.seen.length === 2", timeout=WAIT_MS)
    seen = page.evaluate("window.seen")
    assert [s["event"]["data"]["text"] for s in seen] == ["Before", "Over SSE"]
    assert [s["id"] for s in seen] == [str(s["event"]["seq"]) for s in seen]


def test_a_kept_response_body_is_shown_with_its_attempt(page: Page, mock_url: str) -> None:
    # Today's delivery log keeps the status only; a log that keeps the receiver's answer
    # too has it shown under the status.
    logged = {
        "id": 1,
        "url": "http://receiver.invalid/webhooks/whatsapp",
        "state": "delivered",
        "payload": {"object": "whatsapp_business_account", "entry": []},
        "signature": "sha256=" + "0" * 64,
        "attempts": [
            {
                "number": 1,
                "at": "2031-01-01T00:00:00+00:00",
                "status_code": 200,
                "latency_ms": 1.5,
                "error": None,
                "response_body": '{"status":"ok"}',
            },
        ],
    }
    page.route(
        re.compile(r".*/_mock/webhooks/deliveries$"), lambda route: route.fulfill(json=[logged])
    )
    page.reload()
    delivery = page.locator("details.delivery")
    delivery.locator("summary").click(timeout=WAIT_MS)
    expect(delivery.locator("table.attempts .response")).to_have_text('{"status":"ok"}')


def test_the_templates_tab_shows_reviews_and_decides_them(
    page: Page, mock_url: str, webhooks: tuple[Webhooks, str]
) -> None:
    page.click("[data-tab=templates]")
    hello = page.locator("#template-list li", has_text="hello_world")
    expect(hello).to_contain_text("approved", timeout=WAIT_MS)
    expect(hello).to_contain_text("en_US · utility")

    created = httpx.post(
        f"{mock_url}/v21.0/200000000000001/message_templates",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={
            "name": "streak_update",
            "language": "en",
            "category": "MARKETING",
            "components": [{"type": "BODY", "text": "Ten days in a row!"}],
        },
    )
    assert created.status_code == 200, created.text
    item = page.locator(f"#template-list li[data-template='{created.json()['id']}']")
    expect(item).to_contain_text("pending · in review", timeout=WAIT_MS)  # followed live
    expect(page.locator("#pending-count")).to_have_text("1")

    item.locator("select[name=reason]").select_option("PROMOTIONAL")
    item.get_by_role("button", name="Reject").click()
    expect(item).to_contain_text("rejected · PROMOTIONAL", timeout=WAIT_MS)
    expect(page.locator("#pending-count")).to_be_hidden()
    updates = eventually(
        lambda: [
            c["value"]
            for p in list(webhooks[0].received)
            for e in p["entry"]
            for c in e["changes"]
            if c["field"] == "message_template_status_update"
        ],
        "a signed template status webhook",
    )
    assert (updates[0]["event"], updates[0]["reason"]) == ("REJECTED", "PROMOTIONAL")


def test_a_template_shows_its_header_and_footer_and_its_quick_reply_can_be_tapped(
    page: Page, mock_url: str, webhooks: tuple[Webhooks, str]
) -> None:
    created = httpx.post(
        f"{mock_url}/v21.0/200000000000001/message_templates",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={
            "name": "checkin_question",
            "language": "en",
            "category": "UTILITY",
            "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Check-in"},
                {"type": "BODY", "text": "Did you do your habit today?"},
                {"type": "FOOTER", "text": "Your habit coach"},
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Yes"}]},
            ],
        },
    ).json()
    httpx.post(f"{mock_url}/_mock/templates/{created['id']}/review", json={"status": "APPROVED"})
    wamid = business_sends(
        mock_url,
        {
            "type": "template",
            "template": {
                "name": "checkin_question",
                "language": {"code": "en"},
                "components": [
                    {
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": "0",
                        "parameters": [{"type": "payload", "payload": "checkin-yes"}],
                    }
                ],
            },
        },
    )
    page.locator(f"li[data-phone='{PHONE}']").click(timeout=WAIT_MS)
    bubble = page.locator(f".bubble[data-id='{wamid}']")
    expect(bubble.locator(".header")).to_have_text("Check-in", timeout=WAIT_MS)
    expect(bubble.locator(".footer")).to_have_text("Your habit coach")
    bubble.get_by_role("button", name="Yes").click()
    tapped = eventually(
        lambda: [
            m
            for p in list(webhooks[0].received)
            for m in p["entry"][0]["changes"][0]["value"].get("messages", [])
            if m["type"] == "button"
        ],
        "the quick reply's webhook",
    )
    assert tapped[0]["button"] == {"payload": "checkin-yes", "text": "Yes"}
    assert tapped[0]["context"]["id"] == wamid
