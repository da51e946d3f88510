"""Measures the agent's time per turn over many turns: the real app (in-process ASGI) on a
real Postgres, the LangGraph flow on the offline model, delivery's scheduling API faked at
the edge. Each participant plays the whole cycle (personalized intake, daily prompts with
Done and Next time, feedback); turns are messages and due events alike. Prints median and
p99 per turn, and the ratio to a baseline run in the same process (GET /healthz)."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx
from promptpipe_agent.main import create_app
from promptpipe_agent.settings import Settings


def fake_delivery(request: httpx.Request) -> httpx.Response:
    if request.method == "GET":
        return httpx.Response(200, json={"status": "ok", "result": []})
    body = json.loads(request.content) if request.content else {}
    return httpx.Response(201, json={"status": "ok", "result": {"id": "job_bench", **body}})


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def main(database_url: str, turns: int, participants: int) -> None:
    app = create_app(
        Settings(DATABASE_URL=database_url, AGENT_LOG_LEVEL="warning"),
        delivery_transport=httpx.MockTransport(fake_delivery),
    )
    # A message, or ("event", kind) for a due event from delivery.
    script: list[str | tuple[str, str]] = [
        "Hello!",
        "personalize",
        "moving more",
        "more energy",
        "my morning coffee",
        "7:30am",
        "I work from home",
        "yes",
        ("event", "daily_prompt"),
        "Done",
        "I had my shoes ready",
        ("event", "daily_prompt"),
        ("event", "reminder"),
        "Next time",
        "I overslept",
        "Can you move it to 8am?",
        ("event", "daily_prompt"),
        "Done",
        "It was easy after coffee",
        "thanks!",
    ]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
            baseline = []
            for _ in range(turns):
                start = time.perf_counter()
                await client.get("/healthz")
                baseline.append(time.perf_counter() - start)
            timings = []
            for i in range(turns):
                pid = f"p_bench_{i % participants}"
                step = script[(i // participants) % len(script)]
                path = "/process-message"
                body: dict[str, object] = {
                    "participant_id": pid,
                    "phone_number": "+15550000000",
                    "message": step,
                    "message_id": f"wamid.bench{i}",
                }
                if isinstance(step, tuple):
                    path = "/process-event"
                    body = {
                        "participant_id": pid,
                        "phone_number": "+15550000000",
                        "event_id": f"job_bench@{i}",
                        "kind": step[1],
                        "payload": {},
                    }
                start = time.perf_counter()
                resp = await client.post(path, json=body)
                timings.append(time.perf_counter() - start)
                resp.raise_for_status()
    median, p99 = statistics.median(timings), percentile(timings, 99)
    base = statistics.median(baseline)
    print(
        f"turns={turns} participants={participants}: median {median * 1000:.2f} ms, "
        f"p99 {p99 * 1000:.2f} ms per turn"
    )
    print(f"baseline GET /healthz median {base * 1000:.3f} ms; a turn costs {median / base:.0f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database_url")
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--participants", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.turns, args.participants))
