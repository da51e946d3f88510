"""Writes the transcript of a week with the coach on the offline model, as Markdown: a
personalized intake on a habit outside the catalogue (practicing the guitar, kept in the
participant's words), a try in the chat and its check-in, then a week of FEEDBACK with each
kind of message people write between prompts: done and not today (with and without a
reason), what helped, "make it easier", "what if I forget?" and other questions, a new
time, thanks and small talk, the intensity question, a pause of two days that ends by
itself, "make it harder", and stop. The real agent app runs in-process on a throwaway
Postgres; delivery's API is played here, and its due events are sent the way delivery
sends them (POST /process-event, the virtual time in X-PromptPipe-Now).

    .venv/bin/python agent/scripts/offline_transcript.py docs/agent-transcript.md
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "lib"))
import pgcluster  # noqa: E402

from promptpipe_agent.main import create_app  # noqa: E402
from promptpipe_agent.settings import Settings  # noqa: E402

PID = "p_transcript"
PHONE = "+447700900123"
DAY = datetime.fromisoformat("2030-03-04T00:00:00+00:00")  # London is on UTC in March

# (day, "HH:MM", what): a message from the participant, or ("event", kind) when due.
CYCLE: list[tuple[int, str, str | tuple[str, str]]] = [
    (0, "18:00", "Hi!"),
    (0, "18:01", "I'd like to personalize it"),
    (0, "18:01", "I want to practice the guitar more, it's been gathering dust"),
    (0, "18:02", "so I can play a song at my daughter's birthday"),
    (0, "18:02", "after dinner"),
    (0, "18:03", "8pm"),
    (0, "18:03", "I work late on Tuesdays"),
    (0, "18:04", "Sure, let's try!"),
    (0, "18:19", ("event", "feedback_timeout")),
    (0, "18:25", "Done! 🎸"),
    (0, "18:26", "having it out of the case helped"),
    (0, "18:27", "thanks!"),
    (1, "19:50", ("event", "daily_prompt")),
    (1, "20:05", "Done"),
    (1, "20:06", "I left it on the sofa"),
    (1, "20:07", "how long should it take, really?"),
    (2, "19:50", ("event", "daily_prompt")),
    (2, "22:40", "not today, I worked late and I'm exhausted"),
    (2, "22:41", "can you make it easier?"),
    (3, "19:50", ("event", "daily_prompt")),
    (3, "21:30", "Next time"),
    (3, "21:31", "friends came over"),  # the third prompt's exchange ends with the intensity
    (3, "21:32", "Keep current"),
    (3, "21:33", "what if I forget again?"),
    (4, "19:50", ("event", "daily_prompt")),
    (4, "20:02", "did it ✅"),
    (4, "20:03", "can we change the time?"),
    (4, "20:04", "7:30pm"),
    (4, "20:05", "ok cool"),
    (5, "19:20", ("event", "daily_prompt")),
    (5, "19:41", "Done"),
    (5, "19:42", "lol it's becoming a thing"),
    (5, "19:43", "how are you?"),
    (6, "10:00", "we're away for the weekend, can we pause for 2 days?"),
    (8, "10:00", ("event", "pause_ends")),
    (8, "19:20", ("event", "daily_prompt")),
    (8, "19:35", "done, the short version is too easy now"),
    (8, "19:36", "thanks, see you tomorrow 👋"),
    (9, "19:20", ("event", "daily_prompt")),
    (9, "19:30", "Done"),
    (9, "19:31", "I think I've got the habit now, you can stop messaging me 🙂"),
]

TOKEN = "local-agent-token"  # any token: the app is in-process
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Delivery:
    """delivery's scheduling API, played in memory: what the agent asks for is shown."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.said: list[str] = []
        self.count = 0
        self.status = "active"

    def due(self, kind: str) -> dict[str, Any]:
        """The pending job of this kind that falls due; a one-shot event fires once."""
        job = [j for j in self.jobs.values() if j["kind"] == kind][-1]
        if job["type"] == "event":
            del self.jobs[job["id"]]
        return job

    def handle(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if request.method == "PUT":  # the participant's status
            self.status = json.loads(request.content)["status"]
            self.said.append(f"participant status {self.status}")
            return httpx.Response(200, json={"status": "ok", "result": {"status": self.status}})
        if request.method == "GET":
            mine = [j for j in self.jobs.values() if j["type"] == "schedule"]
            return httpx.Response(200, json={"status": "ok", "result": mine})
        if request.method == "DELETE":
            job = self.jobs.pop(parts[4], None)
            if job:
                self.said.append(f"cancels {job['kind']} {job['id']}")
            return httpx.Response(200 if job else 404, json={"status": "ok"})
        body = json.loads(request.content)
        self.count += 1
        kind = "schedule" if parts[3] == "schedules" else "event"
        job = {"id": f"job_{self.count}", "type": kind, "timezone": "Europe/London", **body}
        self.jobs[job["id"]] = job
        if kind == "schedule":
            self.said.append(f"daily {job['kind']} at {job['local_time']} Europe/London")
        else:
            self.said.append(f"{job['kind']} in {job['delay_seconds'] / 60:g} min")
        return httpx.Response(201, json={"status": "ok", "result": job})


def quote(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines())


async def play(database_url: str) -> str:
    delivery = Delivery()
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
    lines = [
        "# A week with the coach on the offline model",
        "",
        "Generated by `agent/scripts/offline_transcript.py` (do not edit by hand): the agent",
        "app on Postgres with `LLM_PROVIDER=offline`; delivery's scheduling API played in",
        "memory, its due events sent as delivery sends them. Times are the participant's",
        "(Europe/London).",
        "",
    ]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://agent", headers=AUTH
        ) as client:
            day_shown = -1
            for n, (day, hhmm, step) in enumerate(CYCLE):
                now = DAY + timedelta(days=day, hours=int(hhmm[:2]), minutes=int(hhmm[3:]))
                headers = {"X-PromptPipe-Now": now.isoformat()}
                if day != day_shown:
                    lines += [f"## Day {day + 1}", ""]
                    day_shown = day
                if isinstance(step, tuple):
                    job = delivery.due(step[1])
                    body: dict[str, Any] = {
                        "participant_id": PID,
                        "phone_number": PHONE,
                        "event_id": f"{job['id']}@{now.isoformat()}",
                        "kind": step[1],
                        "payload": job.get("payload") or {},
                    }
                    resp = await client.post("/process-event", json=body, headers=headers)
                    lines += [f"*{hhmm}, delivery: `{step[1]}` is due*", ""]
                else:
                    body = {
                        "participant_id": PID,
                        "phone_number": PHONE,
                        "message": step,
                        "message_id": f"wamid.transcript{n}",
                    }
                    resp = await client.post("/process-message", json=body, headers=headers)
                    lines += [f"**{hhmm} participant:** {step}", ""]
                resp.raise_for_status()
                answer = resp.json()
                view = (await client.get(f"/conversations/{PID}")).json()
                if answer["response"]:
                    lines += [f"**coach** ({answer['state']}):", "", quote(answer["response"])]
                    if answer.get("buttons"):
                        titles = " ".join(f"[{b['title']}]" for b in answer["buttons"])
                        lines += [">", f"> {titles}"]
                    lines.append("")
                for call in view["last_turn"]["tool_calls"]:
                    args = json.dumps(call["args"], ensure_ascii=False)
                    lines.append(f"- tool `{call['name']}` {args}")
                for said in delivery.said:
                    lines.append(f"- delivery: {said}")
                delivery.said.clear()
                if lines[-1] != "":
                    lines.append("")
            profile = {
                k: v
                for k, v in view["profile"].items()
                if k not in ("created_at", "updated_at", "tone")
            }
    lines += [
        "## Where it ends",
        "",
        f"Sub-state `{view['state']}`; profile:",
        "",
        "```json",
        json.dumps(profile, indent=2, ensure_ascii=False, sort_keys=True),
        "```",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    # Under .stack/ like the other throwaway clusters: the server's own user must read it.
    home = ROOT / ".stack" / "transcript-pg"
    shutil.rmtree(home, ignore_errors=True)
    cluster = pgcluster.Cluster(home / "data", pgcluster.free_port())
    cluster.init()
    cluster.start()
    try:
        text = asyncio.run(play(cluster.create_database("transcript")))
    finally:
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)
    args.output.write_text(text)


if __name__ == "__main__":
    main()
