"""Proof of fidelity: pywa, a WhatsApp Cloud API client from PyPI, talks to the mock as a
real process over real HTTP; it sends every message type the mock supports, and its own
webhook server checks the mock's signatures and parses the mock's webhooks."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pywa import WhatsApp, types
from pywa.errors import WhatsAppError
from pywa.types import templates

sys.path.insert(0, str(Path(__file__).parent))
from mock_process import ToMock, mock_process, served

PHONE_ID = "106540352242922"
WABA_ID = "102290129340398"
TOKEN = "pywa-token"
SECRET = "pywa-app-secret"
VERIFY = "pywa-verify-token"
USER = "15551234567"


@dataclass
class Seen:
    """What pywa's handlers received, parsed by pywa."""

    messages: list[types.Message] = field(default_factory=list)
    buttons: list[types.CallbackButton] = field(default_factory=list)
    selections: list[types.CallbackSelection] = field(default_factory=list)
    statuses: list[types.MessageStatus] = field(default_factory=list)
    template_updates: list[templates.TemplateStatusUpdate] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, probe: Callable[[], Any], timeout: float = 15) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                value = probe()
            if value:
                return value
            time.sleep(0.05)
        pytest.fail("pywa did not receive the expected webhook")

    def statuses_of(self, wamid: str) -> list[str]:
        return [s.status.value for s in self.statuses if s.id == wamid]


@dataclass
class Setup:
    wa: WhatsApp
    seen: Seen
    mock: httpx.Client


@pytest.fixture(scope="module")
def setup() -> Iterator[Setup]:
    seen = Seen()
    server = FastAPI()
    with mock_process(
        MOCK_WA_PHONE_NUMBER_ID=PHONE_ID,
        MOCK_WA_WABA_ID=WABA_ID,
        MOCK_WA_ACCESS_TOKEN=TOKEN,
        MOCK_WA_APP_SECRET=SECRET,
        MOCK_WA_WEBHOOK_URL="",  # pywa's server joins through the handshake below
        MOCK_WA_STATUS_DELAY_SECONDS="0.05",
        MOCK_WA_LOG_LEVEL="warning",
    ) as base:
        session = httpx.Client(mounts={"https://graph.facebook.com": ToMock(base)}, timeout=10)
        wa = WhatsApp(
            phone_id=PHONE_ID,
            waba_id=WABA_ID,
            token=TOKEN,
            session=session,
            server=server,
            webhook_endpoint="/webhook",
            verify_token=VERIFY,
            app_secret=SECRET,
            validate_updates=True,
        )

        def keep(kind: str) -> Callable[[WhatsApp, Any], None]:
            def handler(_: WhatsApp, update: Any) -> None:
                with seen.lock:
                    getattr(seen, kind).append(update)

            return handler

        wa.on_message()(keep("messages"))
        wa.on_callback_button()(keep("buttons"))
        wa.on_callback_selection()(keep("selections"))
        wa.on_message_status()(keep("statuses"))
        wa.on_template_status_update()(keep("template_updates"))
        with served(server) as receiver, httpx.Client(base_url=base, timeout=10) as mock:
            joined = mock.post(
                "/_mock/webhooks/subscribers",
                json={"url": f"{receiver}/webhook", "verify_token": VERIFY},
            )
            assert joined.status_code == 201, joined.text  # pywa answered the challenge
            yield Setup(wa, seen, mock)
        session.close()


def open_window(setup: Setup, text: str = "hi") -> types.Message:
    """The user writes first (opening the 24-hour window); pywa receives it."""
    before = len(setup.seen.messages)
    sent = setup.mock.post(f"/_mock/phones/{USER}/messages", json={"text": text})
    assert sent.status_code == 201
    message: types.Message = setup.seen.wait(
        lambda: len(setup.seen.messages) > before and setup.seen.messages[-1]
    )
    return message


def chat(setup: Setup) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = setup.mock.get(f"/_mock/phones/{USER}/messages").json()
    return messages


def test_text_reply_and_statuses_with_tracker(setup: Setup) -> None:
    inbound = open_window(setup, "Hello coach")
    assert inbound.text == "Hello coach" and inbound.from_user.wa_id == USER
    sent = setup.wa.send_message(
        to=USER,
        text="Welcome! https://example.test",
        preview_url=True,
        reply_to_message_id=inbound.id,
        tracker="enrolment-1",
    )
    assert sent.id.startswith("wamid.")
    setup.seen.wait(lambda: setup.seen.statuses_of(sent.id) == ["sent", "delivered", "read"])
    statuses = [s for s in setup.seen.statuses if s.id == sent.id]
    assert all(s.tracker == "enrolment-1" for s in statuses)
    last = chat(setup)[-1]
    assert last["context_id"] == inbound.id and last["preview_url"] is True


def test_reply_goes_to_the_business_scoped_user_id(setup: Setup) -> None:
    inbound = open_window(setup, "Reply to me")
    assert inbound.from_user.bsuid and inbound.from_user.bsuid.startswith("US.")
    sent = inbound.reply_text("Here you are", quote=True)
    assert sent.input == inbound.from_user.bsuid  # pywa addresses replies by BSUID first
    setup.seen.wait(lambda: "read" in setup.seen.statuses_of(sent.id))
    last = chat(setup)[-1]
    assert last["text"] == "Here you are" and last["context_id"] == inbound.id


def test_buttons_and_a_tap(setup: Setup) -> None:
    open_window(setup)
    sent = setup.wa.send_message(
        to=USER,
        text="Did you walk today?",
        header="Check-in",
        footer="Tap one",
        buttons=[types.Button("Done", "done"), types.Button("Next time", "later")],
    )
    assert chat(setup)[-1]["interactive"]["buttons"][1]["title"] == "Next time"
    tap = {
        "type": "interactive",
        "button_reply": {"id": "done", "title": "Done"},
        "context_id": sent.id,
    }
    assert setup.mock.post(f"/_mock/phones/{USER}/messages", json=tap).status_code == 201
    button = setup.seen.wait(lambda: setup.seen.buttons and setup.seen.buttons[-1])
    assert button.data == "done" and button.title == "Done"
    assert button.reply_to_message.id == sent.id


def test_list_and_a_selection(setup: Setup) -> None:
    open_window(setup)
    sent = setup.wa.send_message(
        to=USER,
        text="Pick a habit",
        buttons=types.SectionList(
            button_title="Habits",
            sections=[
                types.Section(
                    title="Move",
                    rows=[
                        types.SectionRow(title="Walk", callback_data="walk"),
                        types.SectionRow(
                            title="Stretch", callback_data="stretch", description="5 min"
                        ),
                    ],
                )
            ],
        ),
    )
    tap = {
        "type": "interactive",
        "list_reply": {"id": "stretch", "title": "Stretch", "description": "5 min"},
        "context_id": sent.id,
    }
    setup.mock.post(f"/_mock/phones/{USER}/messages", json=tap)
    selection = setup.seen.wait(lambda: setup.seen.selections and setup.seen.selections[-1])
    assert selection.data == "stretch" and selection.description == "5 min"


def test_url_button_location_contact_and_reactions(setup: Setup) -> None:
    inbound = open_window(setup, "look")
    cta = setup.wa.send_message(
        to=USER, text="Read more", buttons=types.URLButton(title="Open", url="https://x.test")
    )
    location = setup.wa.send_location(to=USER, latitude=51.5, longitude=-0.12, name="Park")
    contact = setup.wa.send_contact(
        to=USER,
        contact=types.Contact(name=types.Contact.Name(formatted_name="Coach", first_name="Coach")),
    )
    reaction = setup.wa.send_reaction(to=USER, emoji="👏", message_id=inbound.id)
    removal = setup.wa.remove_reaction(to=USER, message_id=inbound.id)
    for sent in (cta, location, contact):
        setup.seen.wait(lambda sent=sent: "read" in setup.seen.statuses_of(sent.id))
    for sent in (reaction, removal):
        setup.seen.wait(lambda sent=sent: setup.seen.statuses_of(sent.id) == ["sent"])
    kinds = [m["type"] for m in chat(setup)[-5:]]
    assert kinds == ["interactive", "location", "contacts", "reaction", "reaction"]


def test_media_by_upload_link_and_id_then_download_and_delete(setup: Setup) -> None:
    open_window(setup)
    png = b"\x89PNG\r\n\x1a\n" + b"pixels" * 10
    by_bytes = setup.wa.send_image(to=USER, image=png, caption="Your streak", mime_type="image/png")
    by_link = setup.wa.send_document(
        to=USER, document="https://example.test/plan.pdf", filename="plan.pdf", caption="Plan"
    )
    media = setup.wa.upload_media(media=b"ID3 audio", mime_type="audio/mpeg", filename="a.mp3")
    by_id = setup.wa.send_audio(to=USER, audio=media.id)
    video = setup.wa.send_video(to=USER, video="https://example.test/v.mp4")
    sticker = setup.wa.send_sticker(to=USER, sticker="https://example.test/s.webp")
    for sent in (by_bytes, by_link, by_id, video, sticker):
        setup.seen.wait(lambda sent=sent: "read" in setup.seen.statuses_of(sent.id))
    image = chat(setup)[-5]["image"]
    url = setup.wa.get_media_url(image["id"])
    assert url.mime_type == "image/png" and url.file_size == len(png)
    assert setup.wa.get_media_bytes(url.url) == png
    assert setup.wa.delete_media(media.id).success is True
    with pytest.raises(WhatsAppError):
        setup.wa.get_media_url(media.id)


def test_phone_image_reaches_pywa_and_downloads(setup: Setup) -> None:
    before = len(setup.seen.messages)
    body = {"type": "image", "image": {"caption": "my run"}}
    setup.mock.post(f"/_mock/phones/{USER}/messages", json=body)
    message = setup.seen.wait(lambda: len(setup.seen.messages) > before and setup.seen.messages[-1])
    assert message.type == types.MessageType.IMAGE and message.caption == "my run"
    assert b"my run" in message.image.get_bytes()


def test_phone_document_and_unsupported_message_reach_pywa(setup: Setup) -> None:
    before = len(setup.seen.messages)
    document = {"type": "document", "document": {"caption": "plan", "filename": "plan.pdf"}}
    poll = {"type": "unsupported", "unsupported": {"type": "poll"}}
    for body in (document, poll):
        assert setup.mock.post(f"/_mock/phones/{USER}/messages", json=body).status_code == 201
    arrived = setup.seen.wait(
        lambda: len(setup.seen.messages) >= before + 2 and setup.seen.messages[before:]
    )
    # Two webhooks in flight at once may arrive in either order, as on Meta.
    [doc] = [m for m in arrived if m.type == types.MessageType.DOCUMENT]
    [odd] = [m for m in arrived if m.type != types.MessageType.DOCUMENT]
    assert doc.document.filename == "plan.pdf" and b"plan" in doc.document.get_bytes()
    assert odd.type == types.MessageType.UNSUPPORTED
    assert odd.error is not None and odd.error.code == 131051


def test_template_quick_reply_tap_reaches_pywa_as_a_button(setup: Setup) -> None:
    tap = {"type": "button", "button": {"payload": "checkin-yes", "text": "Yes"}}
    assert setup.mock.post(f"/_mock/phones/{USER}/messages", json=tap).status_code == 201
    button = setup.seen.wait(lambda: [b for b in setup.seen.buttons if b.data == "checkin-yes"])[0]
    assert button.title == "Yes"


def test_template_mark_read_and_typing(setup: Setup) -> None:
    inbound = open_window(setup)
    sent = setup.wa.send_template(
        to=USER,
        name="daily_prompt_reminder",
        language=types.templates.TemplateLanguage.ENGLISH,
        params=[
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Ada"}, {"type": "text", "text": "a walk"}],
            }
        ],
    )
    setup.seen.wait(lambda: "read" in setup.seen.statuses_of(sent.id))
    assert chat(setup)[-1]["text"].startswith("Hi Ada, your daily habit is waiting: a walk.")
    assert setup.wa.mark_message_as_read(inbound.id).success is True
    assert setup.wa.indicate_typing(inbound.id).success is True


def test_refusals_reach_pywa_as_its_own_errors(setup: Setup) -> None:
    with pytest.raises(WhatsAppError) as bad:
        setup.wa.send_message(to=USER, text="x" * 4097)
    assert bad.value.code == 100
    fault = {"target": "messages", "error_code": 130429, "times": 1}
    assert setup.mock.post("/_mock/faults", json=fault).status_code == 201
    with pytest.raises(WhatsAppError) as limited:
        setup.wa.send_message(to=USER, text="too fast")
    assert limited.value.code == 130429


def test_failed_status_for_a_closed_window_is_parsed(setup: Setup) -> None:
    stranger = "15559990000"
    sent = setup.wa.send_message(to=stranger, text="Are you there?")
    setup.seen.wait(lambda: setup.seen.statuses_of(sent.id) == ["failed"])
    [status] = [s for s in setup.seen.statuses if s.id == sent.id]
    assert status.error is not None and status.error.code == 131047


def test_pywa_refuses_a_badly_signed_webhook(setup: Setup) -> None:
    fault = {"target": "webhooks", "webhook": "bad_signature", "times": 1}
    assert setup.mock.post("/_mock/faults", json=fault).status_code == 201
    before = len(setup.seen.messages)
    setup.mock.post(f"/_mock/phones/{USER}/messages", json={"text": "forged"})

    def first_attempt() -> Any:
        log = setup.mock.get("/_mock/webhooks/deliveries").json()
        forged = [d for d in log if d["fault"] == "bad_signature"]
        return forged and forged[0]["attempts"] and forged[0]["attempts"][0]

    attempt = setup.seen.wait(first_attempt)
    assert attempt["status_code"] == 403  # pywa checked the signature and said no
    assert all(m.text != "forged" for m in setup.seen.messages[before:])


def travel(setup: Setup, by: timedelta) -> None:
    """Move the mock's clock forward, as the stack's time travel does."""
    now = datetime.fromisoformat(setup.mock.get("/_mock/clock").json()["now"])
    assert setup.mock.put("/_mock/clock", json={"now": (now + by).isoformat()}).is_success


def test_template_created_approved_sent_and_deleted_through_pywa(setup: Setup) -> None:
    header = templates.HeaderText("Day {{1}}", 12)
    body = templates.BodyText("Well done {{1}}, keep going!", "Ada")
    streak = templates.Template(
        name="streak_update",
        category=templates.TemplateCategory.MARKETING,
        language=templates.TemplateLanguage.ENGLISH_US,
        components=[
            header,
            body,
            templates.FooterText(text="Your habit coach"),
            templates.Buttons(buttons=[thanks := templates.QuickReplyButton(text="Thanks")]),
        ],
    )
    params = [header.params(3), body.params("Ada"), thanks.params(callback_data="thx", index=0)]
    created = setup.wa.create_template(template=streak)
    assert created.status == templates.TemplateStatus.PENDING
    assert created.category == templates.TemplateCategory.MARKETING
    pending = setup.wa.get_templates(statuses=[templates.TemplateStatus.PENDING])
    assert [t.name for t in pending] == ["streak_update"]
    assert pending.total_count == 1 and pending.message_template_count >= 4
    with pytest.raises(WhatsAppError) as early:
        setup.wa.send_template(
            to=USER,
            template=streak,
            params=params,
        )
    assert early.value.code == 132001

    travel(setup, timedelta(minutes=5))  # the review's time passes: Meta approves it
    [update] = setup.seen.wait(
        lambda: [u for u in setup.seen.template_updates if u.template_id == created.id]
    )
    assert update.new_status == templates.TemplateStatus.APPROVED
    assert update.template_name == "streak_update" and update.id == WABA_ID
    assert update.template_language == templates.TemplateLanguage.ENGLISH_US
    assert update.category == templates.TemplateCategory.MARKETING

    [details] = setup.wa.get_templates(name="streak_update")
    assert details.status == templates.TemplateStatus.APPROVED
    assert [type(c) for c in details.components] == [
        templates.HeaderText,
        templates.BodyText,
        templates.FooterText,
        templates.Buttons,
    ]
    stranger = "15550002222"  # never wrote: outside the 24-hour window
    sent = setup.wa.send_template(
        to=stranger,
        template=streak,
        params=params,
    )
    setup.seen.wait(lambda: "read" in setup.seen.statuses_of(sent.id))
    [first] = [s for s in setup.seen.statuses if s.id == sent.id and s.pricing is not None][:1]
    assert first.pricing.category == "marketing" and first.conversation is not None
    text = setup.mock.get(f"/_mock/phones/{stranger}/messages").json()[-1]["text"]
    assert text == "Well done Ada, keep going!"

    assert setup.wa.delete_template(template_name="streak_update").success is True
    assert [t.name for t in setup.wa.get_templates(name="streak_update")] == []


def test_rejection_reaches_pywa_and_the_send_fails(setup: Setup) -> None:
    reminder = templates.Template(
        name="spring_offer",
        category=templates.TemplateCategory.MARKETING,
        language=templates.TemplateLanguage.ENGLISH,
        components=[templates.BodyText("Spring offer for {{1}}!", "Ada")],
    )
    created = setup.wa.create_template(template=reminder)
    decided = setup.mock.post(
        f"/_mock/templates/{created.id}/review",
        json={"status": "REJECTED", "reason": "INCORRECT_CATEGORY"},
    )
    assert decided.status_code == 200, decided.text
    [update] = setup.seen.wait(
        lambda: [u for u in setup.seen.template_updates if u.template_id == created.id]
    )
    assert update.new_status == templates.TemplateStatus.REJECTED
    assert update.reason == templates.TemplateRejectionReason.INCORRECT_CATEGORY
    with pytest.raises(WhatsAppError) as refused:
        setup.wa.send_template(
            to=USER,
            name="spring_offer",
            language=templates.TemplateLanguage.ENGLISH,
            params=[reminder.components[0].params("Ada")],
        )
    assert refused.value.code == 132001
