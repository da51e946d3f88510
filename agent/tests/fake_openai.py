"""A scripted OpenAI-compatible server on a free port, over real HTTP: each call to
/v1/chat/completions gets the next scripted answer (tool calls, a message, an error, or a
stall) and is kept for the test to read. Past the script, a `responder` may answer from
the request itself: `offline_coach` plays the offline coach's script over the wire, so one
table of conversations runs on both models."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from promptpipe_agent.offline_model import respond


def tool_calls(*calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """An answer that calls tools, OpenAI's wire format."""
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{name}_{i}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
            for i, (name, args) in enumerate(calls)
        ],
    }


def message(text: str | None) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def offline_coach(request: dict[str, Any]) -> dict[str, Any]:
    """The offline coach's next answer to an OpenAI request: the wire's messages as
    LangChain's, the script's answer (tool calls or text) back in the wire's format."""
    messages: list[BaseMessage] = []
    names: dict[str, str] = {}
    for m in request["messages"]:
        content = m.get("content") or ""
        if m["role"] == "system":
            messages.append(SystemMessage(content))
        elif m["role"] == "user":
            messages.append(HumanMessage(content))
        elif m["role"] == "assistant":
            calls = [
                {
                    "name": c["function"]["name"],
                    "args": json.loads(c["function"]["arguments"]),
                    "id": c["id"],
                }
                for c in m.get("tool_calls") or []
            ]
            names.update({c["id"]: c["name"] for c in calls})
            messages.append(AIMessage(content, tool_calls=calls))
        elif m["role"] == "tool":
            messages.append(
                ToolMessage(content, tool_call_id=m["tool_call_id"], name=names[m["tool_call_id"]])
            )
    answer = respond(messages)
    if not answer.tool_calls:
        return message(str(answer.content))
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c["args"])},
            }
            for c in answer.tool_calls
        ],
    }


@dataclass
class Failure:
    status: int = 500
    stall_seconds: float = 0.0


@dataclass
class FakeOpenAI:
    script: list[dict[str, Any] | Failure] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    responder: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def complete(request: Request) -> JSONResponse:
            self.requests.append(await request.json())
            self.headers.append(dict(request.headers))
            if not self.script and self.responder is not None:
                self.script.append(self.responder(self.requests[-1]))
            if not self.script:
                return JSONResponse({"error": {"message": "script exhausted"}}, status_code=500)
            answer = self.script.pop(0)
            if isinstance(answer, Failure):
                if answer.stall_seconds:
                    time.sleep(answer.stall_seconds)  # blocks this server only
                return JSONResponse(
                    {"error": {"message": "scripted failure", "type": "server_error"}},
                    status_code=answer.status,
                )
            finish = "tool_calls" if answer.get("tool_calls") else "stop"
            return JSONResponse(
                {
                    "id": f"chatcmpl-{len(self.requests)}",
                    "object": "chat.completion",
                    "created": 1_700_000_000,
                    "model": "fake-model",
                    "choices": [{"index": 0, "message": answer, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }
            )

        return app


class Running:
    """Runs a FakeOpenAI under uvicorn in a thread until stopped."""

    def __init__(self, fake: FakeOpenAI) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            fake.port = s.getsockname()[1]
        config = uvicorn.Config(fake.app(), host="127.0.0.1", port=fake.port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Running:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake OpenAI server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
