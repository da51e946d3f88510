"""The mock's Prometheus metrics: webhooks it sent (attempts, latency, give-ups), messages
the phones sent and the business sent, statuses, and Graph API refusals.

They are counted from the mock's own event stream (events.py), which every change already
passes through: `observe` counts each event as the bus publishes it, so nothing in the
fake's parts knows about metrics. Labels never carry phone numbers or message ids."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram

from mock_whatsapp import events

WEBHOOK_ATTEMPTS = Counter(
    "mock_whatsapp_webhook_attempts_total",
    "Webhook deliveries attempted, by result (ok: a 2xx answer; error: anything else).",
    ["result"],
)
WEBHOOK_SECONDS = Histogram(
    "mock_whatsapp_webhook_duration_seconds",
    "Time the webhook receiver took to answer an attempt.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBHOOKS_GAVE_UP = Counter(
    "mock_whatsapp_webhooks_gave_up_total", "Webhook deliveries given up after every retry."
)
MESSAGES = Counter(
    "mock_whatsapp_messages_total",
    "Messages by direction: inbound (a phone wrote), outbound (the business sent, accepted).",
    ["direction"],
)
STATUSES = Counter(
    "mock_whatsapp_statuses_total", "Statuses outbound messages reached, by status.", ["status"]
)
API_ERRORS = Counter(
    "mock_whatsapp_api_errors_total", "Graph API requests refused, by HTTP status.", ["status"]
)


def count(event: events.Event) -> None:
    """Counts one event of the mock's stream."""
    kind, data = event["kind"], event["data"]
    if kind == events.WEBHOOK_ATTEMPT:
        code = data.get("status_code")
        ok = isinstance(code, int) and 200 <= code < 300
        WEBHOOK_ATTEMPTS.labels("ok" if ok else "error").inc()
        if isinstance(data.get("latency_ms"), int | float):
            WEBHOOK_SECONDS.observe(data["latency_ms"] / 1000)
    elif kind == events.WEBHOOK_GAVE_UP:
        WEBHOOKS_GAVE_UP.inc()
    elif kind == events.MESSAGE_INBOUND:
        MESSAGES.labels("inbound").inc()
    elif kind == events.MESSAGE_OUTBOUND:
        MESSAGES.labels("outbound").inc()
    elif kind == events.MESSAGE_STATUS and data.get("status"):
        STATUSES.labels(str(data["status"])).inc()
    elif kind == events.API_ERROR:
        API_ERRORS.labels(str(data.get("status", "unknown"))).inc()


def observe(bus: events.EventBus) -> None:
    """Count every event the bus publishes, as it is published: the bus's `publish` is
    wrapped (before anything takes it), so counting needs no task of its own."""
    publish = bus.publish

    def counted(kind: str, data: dict[str, Any] | None = None) -> events.Event:
        event = publish(kind, data)
        count(event)
        return event

    setattr(bus, "publish", counted)  # noqa: B010 (mypy forbids assigning a method)
