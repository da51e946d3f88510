"""delivery's scheduling API at the edge of the agent's tests, in memory: what the agent
asks for (schedules, events, a participant's status) is recorded for the test to read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class FakeDelivery:
    """delivery's scheduling API at the edge: records schedules and events."""

    schedules: list[dict[str, Any]] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    canceled: list[str] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)  # set by the agent, by participant
    requests: int = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        parts = request.url.path.strip("/").split("/")  # conversation/participants/{id}/...
        if request.method == "PUT" and len(parts) == 3:
            self.statuses[parts[2]] = json.loads(request.content)["status"]
            return httpx.Response(200, json={"status": "ok", "result": {"id": parts[2]}})
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
