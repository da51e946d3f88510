"""The OpenAPI document covers both sides with real schemas, and every reference in it
resolves."""

from __future__ import annotations

from typing import Any

import httpx


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


async def test_openapi_covers_graph_and_control_apis(mock: httpx.AsyncClient) -> None:
    doc = (await mock.get("/openapi.json")).json()
    paths = doc["paths"]
    for path in (
        "/{version}/{phone_number_id}/messages",
        "/{version}/{phone_number_id}/media",
        "/{version}/{media_id}",
        "/_mock/faults",
        "/_mock/limits",
        "/_mock/phones/{phone}/messages",
        "/_mock/webhooks/subscribers",
        "/_mock/webhooks/deliveries",
        "/{version}/{waba_id}/message_templates",
        "/_mock/templates",
        "/_mock/templates/{template_id}/review",
        "/_mock/webhooks/errors",
    ):
        assert path in paths, path
    send = paths["/{version}/{phone_number_id}/messages"]["post"]
    body = send["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/SendMessageRequest"}
    assert send["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/SendAnswer"
    )
    assert send["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/GraphErrorBody"
    )
    schemas = doc["components"]["schemas"]
    assert {"text", "interactive", "template", "context"} <= set(
        schemas["SendMessageRequest"]["properties"]
    )
    fault = schemas["FaultSpec"]["properties"]
    assert fault["target"]["enum"] == ["messages", "media", "webhooks"]
    for ref in refs(doc):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
