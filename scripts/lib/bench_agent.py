"""Measures the agent's time per turn over many turns: the real app (in-process ASGI) on a
real Postgres, the LangGraph flow on the offline model, delivery's scheduling API faked at
the edge. Each participant plays the whole cycle over four virtual days (personalized
intake with a try in the chat and its 15-minute check-in, daily prompts with Done and Next
time, the reminder, feedback, a new time, the intensity question answered Increase); turns
are messages and due events alike, each at its virtual time (X-PromptPipe-Now), the
events with the payloads the agent asked delivery for. Prints median and p99 per turn,
and the ratio to a baseline run in the same process (GET /healthz)."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import time
from datetime import UTC, datetime, timedelta

import httpx
from promptpipe_agent.main import create_app
from promptpipe_agent.settings import Settings

TOKEN = "local-agent-token"  # any token: the app is in-process
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class FakeDelivery:
    """delivery's scheduling API at the edge; keeps the payload of each event the agent asks
    for, so the bench fires it back the way delivery would."""

    def __init__(self) -> None:
        self.payloads: dict[tuple[str, str], dict[str, object]] = {}
        self.jobs = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"status": "ok", "result": []})
        body = json.loads(request.content) if request.content else {}
        parts = request.url.path.strip("/").split("/")  # conversation/participants/{id}/...
        if request.method == "POST" and parts[-1] == "events":
            self.payloads[(parts[2], str(body.get("kind")))] = dict(body.get("payload") or {})
        self.jobs += 1
        return httpx.Response(
            201, json={"status": "ok", "result": {"id": f"job_{self.jobs}", **body}}
        )


# The cycle: (day, time of day, a message or ("event", kind) for a due event).
CYCLE: list[tuple[int, str, str | tuple[str, str]]] = [
    (0, "07:00", "Hello!"),
    (0, "07:01", "personalize"),
    (0, "07:02", "moving more"),
    (0, "07:03", "more energy"),
    (0, "07:04", "my morning coffee"),
    (0, "07:05", "7:30am"),
    (0, "07:06", "I work from home"),
    (0, "07:07", "yes"),  # try it now: the prompt in the chat starts its check-in timer
    (0, "07:22", ("event", "feedback_timeout")),
    (1, "07:20", ("event", "daily_prompt")),
    (1, "07:21", "Done"),
    (1, "07:22", "I had my shoes ready"),
    (2, "07:20", ("event", "daily_prompt")),
    (2, "12:20", ("event", "reminder")),
    (2, "12:30", "Next time"),
    (2, "12:31", "I overslept"),
    (2, "12:32", "Can you move it to 8am?"),
    (3, "07:50", ("event", "daily_prompt")),  # the third: its exchange ends with intensity
    (3, "08:05", "Done"),
    (3, "08:06", "It was easy after coffee"),
    (3, "08:07", "Increase"),
    (3, "08:08", "thanks!"),
]
START = datetime(2030, 1, 7, tzinfo=UTC)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def at(cycle: int, day: int, clock: str) -> str:
    hours, minutes = map(int, clock.split(":"))
    when = START + timedelta(days=7 * cycle + day, hours=hours, minutes=minutes)
    return when.isoformat().replace("+00:00", "Z")


async def main(database_url: str, turns: int, participants: int) -> None:
    delivery = FakeDelivery()
    app = create_app(
        # delivery's token, and its virtual clock so that X-PromptPipe-Now is honoured.
        Settings(
            DATABASE_URL=database_url,
            AGENT_LOG_LEVEL="warning",
            AGENT_API_TOKEN=TOKEN,
            DEV_CLOCK=True,
        ),
        delivery_transport=httpx.MockTransport(delivery.handle),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://agent", headers=AUTH
        ) as client:
            baseline = []
            for _ in range(turns):
                start = time.perf_counter()
                await client.get("/healthz")
                baseline.append(time.perf_counter() - start)
            timings = []
            said: dict[str, int] = {}  # what the cycle's turns produced, to check the bench
            for i in range(turns):
                pid = f"p_bench_{i % participants}"
                round_, position = divmod(i // participants, len(CYCLE))
                day, clock, step = CYCLE[position]
                headers = {"X-PromptPipe-Now": at(round_, day, clock)}
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
                        "payload": delivery.payloads.pop((pid, step[1]), {}),
                    }
                start = time.perf_counter()
                resp = await client.post(path, json=body, headers=headers)
                timings.append(time.perf_counter() - start)
                resp.raise_for_status()
                buttons = [b["title"] for b in resp.json().get("buttons") or []]
                if "Increase" in buttons:
                    said["intensity questions"] = said.get("intensity questions", 0) + 1
                if isinstance(step, tuple) and resp.json()["response"]:
                    said[step[1]] = said.get(step[1], 0) + 1
    median, p99 = statistics.median(timings), percentile(timings, 99)
    base = statistics.median(baseline)
    print(
        f"turns={turns} participants={participants}: median {median * 1000:.2f} ms, "
        f"p99 {p99 * 1000:.2f} ms per turn"
    )
    print(f"baseline GET /healthz median {base * 1000:.3f} ms; a turn costs {median / base:.0f}x")
    print("events answered: " + ", ".join(f"{k} {v}" for k, v in sorted(said.items())))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database_url")
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument(
        "--participants", type=int, help="default: as many as play one cycle in --turns"
    )
    args = parser.parse_args()
    participants = args.participants or math.ceil(args.turns / len(CYCLE))
    asyncio.run(main(args.database_url, args.turns, participants))
