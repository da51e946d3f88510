"""Meta's review of the templates a business submits, as a process the developer drives.

A new template is PENDING. Unless its review is held, it is approved once
MOCK_WA_TEMPLATE_REVIEW_SECONDS of the mock's time have passed since it was created, so
moving the clock (the stack's time travel) approves it at once. The control API decides
instead: approve, reject with one of Meta's reasons, pause or disable an approved template,
or put one back in review and hold it there. Every change of status is a signed
`message_template_status_update` webhook to every subscriber, in Meta's shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from mock_whatsapp.clock import Clock
from mock_whatsapp.template_registry import TemplateRegistry, log_fields
from mock_whatsapp.templates import MessageTemplate

log = logging.getLogger("mock_whatsapp")

# Meta's reasons for a rejection (`reason` of the webhook, `rejected_reason` of the API).
RejectionReason = Literal[
    "ABUSIVE_CONTENT",
    "INCORRECT_CATEGORY",
    "INVALID_FORMAT",
    "PROMOTIONAL",
    "SCAM",
    "TAG_CONTENT_MISMATCH",
]
RETRY_AFTER = timedelta(seconds=5)
RECOMMENDATION = (
    "Check that the template's variables are numbered in order, are not at the very start "
    "or end of the body, and that their examples are realistic."
)


def status_update(template: MessageTemplate, now: datetime) -> dict[str, Any]:
    """The message_template_status_update webhook for the template's current status."""
    value: dict[str, Any] = {
        "event": template.status,
        "message_template_id": int(template.id),
        "message_template_name": template.name,
        "message_template_language": template.language,
        "reason": template.rejected_reason if template.status == "REJECTED" else "NONE",
        "message_template_category": template.category,
    }
    if template.status == "REJECTED" and template.rejected_reason == "INVALID_FORMAT":
        value["rejection_info"] = {
            "reason": "The template's format does not follow Meta's guidelines.",
            "recommendation": RECOMMENDATION,
        }
    if template.status == "DISABLED":
        value["disable_info"] = {"disable_date": str(int(now.timestamp()))}
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": template.waba_id,
                "time": int(now.timestamp()),
                "changes": [{"value": value, "field": "message_template_status_update"}],
            }
        ],
    }


class TemplateReview:
    """Approves pending templates when their time comes, and applies the control API's
    decisions; one background task waits for the next review that falls due."""

    def __init__(
        self,
        registry: TemplateRegistry,
        clock: Clock,
        send_webhook: Callable[[dict[str, Any]], object],
        review_seconds: float,
        auto_approve: bool = True,
    ) -> None:
        self.registry, self.clock, self.send_webhook = registry, clock, send_webhook
        self.review_for = timedelta(seconds=review_seconds)
        self.auto_approve = auto_approve
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start waiting; templates left pending before a restart are reviewed as due."""
        self.task = asyncio.create_task(self._run())

    def poke(self) -> None:
        """Something changed (a template, the clock): look again at what is due."""
        self.wake.set()

    def due(self, template: MessageTemplate) -> datetime | None:
        """When the automatic review approves it; None when nothing will."""
        if template.status != "PENDING" or template.on_hold or not self.auto_approve:
            return None
        if not template.created_at:  # a configured one put back in review: never due
            return None
        return datetime.fromisoformat(template.created_at) + self.review_for

    async def _run(self) -> None:
        while True:
            self.wake.clear()
            now = self.clock.now()
            soonest: datetime | None = None
            for template in list(self.registry.by_id.values()):
                due = self.due(template)
                if due is not None and due <= now:
                    try:
                        self.decide(template, "APPROVED")
                    except Exception:  # the store failed: try again in a while
                        log.exception("template review failed", extra=log_fields(template))
                        due = now + RETRY_AFTER
                if due is not None and due > now and (soonest is None or due < soonest):
                    soonest = due
            # The clock runs at real speed between jumps, and a jump pokes us.
            timeout = None if soonest is None else max(0.0, (soonest - now).total_seconds())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)

    def decide(
        self, template: MessageTemplate, status: str, reason: str | None = None
    ) -> MessageTemplate:
        """Give the template a new status (PENDING: back in review, held there) and tell
        every subscriber; the same decision again changes nothing and tells nobody."""
        unchanged = template.status == status and (
            (status == "PENDING" and template.on_hold)
            or (status == "REJECTED" and (reason or "INVALID_FORMAT") == template.rejected_reason)
            or status not in ("PENDING", "REJECTED")
        )
        if unchanged:
            return template
        template.status = status
        template.on_hold = status == "PENDING"
        if status == "REJECTED":
            template.rejected_reason = reason or "INVALID_FORMAT"
        elif status in ("PENDING", "APPROVED"):
            template.rejected_reason = "NONE"
        self.registry.changed(template)
        self.send_webhook(status_update(template, self.clock.now()))
        log.info("template reviewed", extra={**log_fields(template), "status": status})
        self.poke()
        return template

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
