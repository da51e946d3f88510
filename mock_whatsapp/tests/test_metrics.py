"""GET /metrics: webhooks, messages, statuses and refusals, counted from the event stream."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

URL = "/v21.0/123456789/messages"
AUTH = {"Authorization": "Bearer test-token"}


async def samples(mock: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = (await mock.get("/metrics")).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_count_what_the_mock_did(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    before = await samples(mock)
    receiver.failures_left = 1  # the first webhook attempt fails, its retry succeeds
    assert (await mock.post("/_mock/phones/15551234567/messages", json={"text": "hi"})).is_success
    sent = await mock.post(
        URL,
        json={
            "messaging_product": "whatsapp",
            "to": "15551234567",
            "type": "text",
            "text": {"body": "Hello"},
        },
        headers=AUTH,
    )
    assert sent.status_code == 200
    refused = await mock.post(
        URL, json={"to": "15551234567"}, headers={"Authorization": "Bearer x"}
    )
    assert refused.status_code == 401
    await drain()
    after = await samples(mock)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("mock_whatsapp_messages_total", direction="inbound") == 1
    assert grew("mock_whatsapp_messages_total", direction="outbound") == 1
    assert grew("mock_whatsapp_webhook_attempts_total", result="error") == 1
    assert grew("mock_whatsapp_webhook_attempts_total", result="ok") >= 2  # message, statuses
    assert grew("mock_whatsapp_statuses_total", status="delivered") == 1
    assert grew("mock_whatsapp_api_errors_total", status="401") == 1
    assert grew("mock_whatsapp_webhook_duration_seconds_count") >= 3
