"""A fake of the stack's public APIs, at the HTTP edge of the simulator's Backend."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.settings import Settings


@dataclass
class FakeStack:
    """delivery, mock_whatsapp and agent, in memory: enough to drive the simulator."""

    participants: list[dict[str, Any]] = field(default_factory=list)
    chats: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sent: list[tuple[str, str]] = field(default_factory=list)
    taps: list[tuple[str, str, str]] = field(default_factory=list)
    tap_kinds: list[str] = field(default_factory=list)
    down: bool = False
    clock_offset: float = 0.0
    agent_fault: dict[str, Any] | None = None  # None: delivery with DEV_CLOCK off, no switch
    delivery_events: list[dict[str, Any]] | None = None  # None: no /dev/events
    # What the mock's event stream (/_mock/events) has said so far.
    mock_events: list[dict[str, Any]] = field(default_factory=list)
    whatsapp_faults: list[dict[str, Any]] = field(default_factory=list)  # /_mock/faults
    reads: list[str] = field(default_factory=list)  # phones that opened their chat
    templates: list[dict[str, Any]] = field(default_factory=list)  # /_mock/templates

    def phone_summary(self, number: str) -> dict[str, Any]:
        chat = self.chats[number]
        return {
            "phone": number,
            "received": sum(1 for m in chat if m["direction"] == "outbound"),
            "unread": sum(
                1 for m in chat if m["direction"] == "outbound" and m.get("status") == "delivered"
            ),
            "last_message_at": chat[-1]["timestamp"] if chat else None,
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        path, method = request.url.path, request.method
        if path == "/dev/clock":
            if method == "POST":
                hours = {"10m": 1 / 6, "1h": 1, "5h": 5, "24h": 24}
                advance = json.loads(request.content)["advance"]
                if advance.endswith("s") and advance[:-1].isdigit():
                    self.clock_offset += int(advance[:-1])
                else:
                    self.clock_offset += 3600 * hours[advance]
            return httpx.Response(
                200, json={"now": "2026-01-01T12:00:00Z", "offset_seconds": self.clock_offset}
            )
        if path == "/readyz":
            return httpx.Response(200, json={"status": "ready"})
        if path == "/_mock/phones" and method == "GET":
            return httpx.Response(200, json=[self.phone_summary(n) for n in self.chats])
        if path == "/conversations" and method == "GET":
            talked = [p for p in self.participants if self.chats.get(p["phone_number"])]
            summaries = [{"participant_id": p["id"], "state": "INTAKE"} for p in talked]
            return httpx.Response(200, json={"conversations": summaries})
        if path == "/conversation/participants":
            if method == "POST":
                body = json.loads(request.content)
                p = {"id": f"p_{len(self.participants)}", "status": "active", **body}
                self.participants.insert(0, p)
                return httpx.Response(201, json={"status": "ok", "result": p})
            return httpx.Response(200, json={"status": "ok", "result": self.participants})
        if path == "/dev/events" and self.delivery_events is not None:
            after = int(request.url.params.get("after", 0))
            result = [e for e in self.delivery_events if e["id"] > after]
            return httpx.Response(200, json={"status": "ok", "result": result})
        if path == "/_mock/events":
            # Each connection gets what is new and ends: the follower resumes from there.
            after = int(request.url.params.get("after", 0))
            frames = "".join(
                f"id: {e['seq']}\nevent: {e['kind']}\ndata: {json.dumps(e)}\n\n"
                for e in self.mock_events
                if e["seq"] > after
            )
            return httpx.Response(
                200, text=": connected\n\n" + frames, headers={"content-type": "text/event-stream"}
            )
        if path == "/dev/faults/agent" and self.agent_fault is not None:
            if method == "PUT":
                self.agent_fault = json.loads(request.content)
            return httpx.Response(200, json={"status": "ok", "result": self.agent_fault})
        if path.endswith("/jobs"):
            job = {
                "id": "j_1",
                "kind": "daily_prompt",
                "local_time": "07:20",
                "next_run_at": "2026-01-02T07:20:00Z",
            }
            return httpx.Response(200, json={"status": "ok", "result": [job]})
        if path.startswith("/conversation/participants/") and method == "DELETE":
            pid = path.rsplit("/", 1)[1]
            self.participants = [p for p in self.participants if p["id"] != pid]
            return httpx.Response(200, json={"status": "ok"})
        if path.startswith("/conversation/participants/") and method == "PUT":
            pid = path.rsplit("/", 1)[1]
            [p] = [p for p in self.participants if p["id"] == pid]
            p.update(json.loads(request.content))
            return httpx.Response(200, json={"status": "ok", "result": p})
        if path == "/_mock/templates":
            return httpx.Response(200, json={"templates": self.templates})
        if path == "/_mock/faults":
            if method == "POST":
                fault = {
                    "id": f"flt_{len(self.whatsapp_faults) + 1}",
                    **json.loads(request.content),
                }
                self.whatsapp_faults.append(fault)
                return httpx.Response(201, json={"fault": fault})
            if method == "DELETE":
                self.whatsapp_faults.clear()
                return httpx.Response(204)
            return httpx.Response(200, json={"faults": self.whatsapp_faults, "limits": {}})
        if path.startswith("/_mock/phones/") and path.endswith("/read") and method == "POST":
            phone = path.split("/")[3]
            self.reads.append(phone)
            read = 0
            for m in self.chats.get(phone, []):
                if m["direction"] == "outbound" and m.get("status") == "delivered":
                    m["status"], read = "read", read + 1
            return httpx.Response(200, json={"read": read})
        if path.startswith("/_mock/phones/"):
            phone = path.split("/")[3]
            if method == "PUT":
                return httpx.Response(200, json={"phone": phone})
            chat = self.chats.setdefault(phone, [])
            if method == "POST":
                body = json.loads(request.content)
                if body.get("type") == "interactive":
                    choice = body.get("button_reply") or body["list_reply"]
                    kind = "button" if "button_reply" in body else "row"
                    self.taps.append((phone, choice["id"], body["context_id"]))
                    self.tap_kinds.append(kind)
                    return httpx.Response(
                        201,
                        json={
                            "id": "wamid.tap",
                            "direction": "inbound",
                            "type": "interactive",
                            "text": choice["title"],
                            "timestamp": "2026-01-01T12:00:02Z",
                        },
                    )
                text = body["text"]
                self.sent.append((phone, text))
                n = len(chat)
                mine = {
                    "id": f"wamid.in{n}",
                    "direction": "inbound",
                    "type": "text",
                    "text": text,
                    "timestamp": "2026-01-01T12:00:00Z",
                }
                reply = {
                    "id": f"wamid.out{n}",
                    "direction": "outbound",
                    "type": "text",
                    "text": f"Coach: you said {text}",
                    "timestamp": "2026-01-01T12:00:01Z",
                    "status": "read",
                }
                if text == "prompt me":
                    reply["interactive"] = {
                        "type": "button",
                        "buttons": [
                            {"id": "done", "title": "Done"},
                            {"id": "next_time", "title": "Next time"},
                        ],
                    }
                if text == "wait":  # the coach has not answered (nor read it) yet
                    chat.append({**mine, "read_by_business": False})
                    return httpx.Response(201, json=mine)
                mine["read_by_business"] = True  # the coach read it, then answered
                if text == "list me":
                    reply["interactive"] = {
                        "type": "list",
                        "button": "Choose",
                        "sections": [
                            {
                                "title": "",
                                "rows": [
                                    {"id": "walk", "title": "A short walk"},
                                    {"id": "stretch", "title": "Stretching"},
                                ],
                            }
                        ],
                    }
                chat.extend([mine, reply])
                return httpx.Response(201, json=mine)
            return httpx.Response(200, json=chat)
        if path == "/_mock/webhooks/deliveries":
            return httpx.Response(
                200,
                json=[
                    {
                        "id": 1,
                        "state": "delivered",
                        "signature": "sha256=00",
                        "attempts": [
                            {"status_code": 500, "latency_ms": 3.0},
                            {"status_code": 200, "latency_ms": 4.2},
                        ],
                        "payload": {
                            "entry": [
                                {
                                    "changes": [
                                        {
                                            "value": {
                                                "messages": [
                                                    {"from": "15551234567", "type": "text"}
                                                ]
                                            }
                                        }
                                    ]
                                }
                            ]
                        },
                    }
                ],
            )
        if path.startswith("/conversations/"):
            turn = {
                "tool_calls": [{"name": "save_user_profile", "args": {"habit_domain": "moving"}}],
                "latency_ms": 42,
                "model": "scripted",
            }
            profile = {"habit_domain": "moving", "created_at": "2026-01-01T10:00:00Z"}
            view = {"state": "INTAKE", "profile": profile, "last_turn": turn}
            return httpx.Response(200, json=view)
        return httpx.Response(404, json={"error": {"code": "not_found", "message": "nope"}})


@pytest.fixture
def fake_stack() -> FakeStack:
    return FakeStack()


@pytest.fixture
def backend(fake_stack: FakeStack) -> Backend:
    return Backend(Settings(), transport=httpx.MockTransport(fake_stack.handle))
