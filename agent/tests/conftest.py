"""Fixtures: the agent app on a fresh Postgres database, driven in-process over HTTP."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # fake_openai, shared by the tests here

from caller import HEADERS, TRUSTED

from promptpipe_agent.main import create_app
from promptpipe_agent.settings import Settings


@pytest.fixture
def database_url(create_database: Callable[[str], str]) -> str:
    return create_database("agent")


@dataclass
class FakeDelivery:
    """delivery's scheduling API at the edge: records schedules and events."""

    schedules: list[dict[str, Any]] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    canceled: list[str] = field(default_factory=list)
    requests: int = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        parts = request.url.path.strip("/").split("/")  # conversation/participants/{id}/...
        pid, what = parts[2], parts[3]
        if what == "schedules" and request.method == "GET":
            mine = [s for s in self.schedules if s["participant_id"] == pid]
            return httpx.Response(200, json={"status": "ok", "result": mine})
        if what == "schedules" and request.method == "DELETE":
            before = len(self.schedules)
            self.schedules = [s for s in self.schedules if s["id"] != parts[4]]
            found = len(self.schedules) < before
            return httpx.Response(200 if found else 404, json={"status": "ok"})
        if what == "schedules":
            body = json.loads(request.content)
            job = {
                "id": f"job_s{self.requests}",
                "participant_id": pid,
                "timezone": "Europe/London",
                "type": "schedule",
                **body,
            }
            self.schedules.append(job)
            return httpx.Response(201, json={"status": "ok", "result": job})
        if what == "events" and request.method == "POST":
            body = json.loads(request.content)
            for job in self.events.values():
                if job["dedupe_key"] == body["dedupe_key"] and job["participant_id"] == pid:
                    return httpx.Response(200, json={"status": "ok", "result": job})
            job = {"id": f"job_e{len(self.events)}", "participant_id": pid, **body}
            self.events[job["id"]] = job
            return httpx.Response(201, json={"status": "ok", "result": job})
        if what == "events" and request.method == "DELETE":
            self.canceled.append(parts[4])
            return httpx.Response(200, json={"status": "ok"})
        return httpx.Response(404, json={"status": "error", "message": "not found"})


@pytest.fixture
def delivery() -> FakeDelivery:
    return FakeDelivery()


@pytest.fixture
async def client(database_url: str, delivery: FakeDelivery) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        Settings(DATABASE_URL=database_url, **TRUSTED),
        delivery_transport=httpx.MockTransport(delivery.handle),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://agent", headers=HEADERS
        ) as c:
            yield c
