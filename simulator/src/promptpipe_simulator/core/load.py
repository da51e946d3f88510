"""A headless load driver: many participants through the intake at once, each message's
reply timed and counted (`simulator load`).

Each participant waits for the coach's reply before sending its next message, as a
person would, so every message should get exactly one reply, right after it. At the end
each chat is read once more and checked pair by pair: a message with no reply is lost,
a second reply (to any message) is a duplicate. Latencies come from the mock's own
timestamps of the message and its reply, so the polling interval does not blur them.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from datetime import datetime

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.clients import ChatMessage, Participant, StackError
from promptpipe_simulator.core.personas import PersonaFactory

# The intake by personalize, then chat in FEEDBACK: every message gets one reply.
SCRIPT = [
    "Hello!",
    "personalize",
    "moving more",
    "more energy for my kids",
    "my morning coffee",
    "7:30am",
    "No, that's all",
    "no",
]
AFTER_INTAKE = "Thanks, see you tomorrow!"
# The driver reads chats to see replies; past this many reads a second, all participants
# together, it would be the mock's main load rather than a measure of the stack.
MAX_CHAT_READS_PER_SECOND = 200


def script(messages: int) -> list[str]:
    """The first `messages` messages a participant sends."""
    return [SCRIPT[i] if i < len(SCRIPT) else AFTER_INTAKE for i in range(messages)]


@dataclass
class ChatCheck:
    """One participant's chat, checked: a reply per message, no more."""

    latencies: list[float] = field(default_factory=list)  # seconds, message → its reply
    lost: list[str] = field(default_factory=list)  # texts of messages with no reply
    duplicated: list[str] = field(default_factory=list)  # texts of messages replied twice


def check_chat(chat: list[ChatMessage]) -> ChatCheck:
    """Pair each of the participant's messages with the coach's messages that follow it
    up to the next one: exactly one is right, none is lost, more are duplicates."""
    result = ChatCheck()
    turns: list[tuple[ChatMessage, list[ChatMessage]]] = []
    for message in chat:
        if message.direction == "inbound":
            turns.append((message, []))
        elif turns:
            turns[-1][1].append(message)
    for sent, replies in turns:
        if not replies:
            result.lost.append(sent.text)
            continue
        if len(replies) > 1:
            result.duplicated.append(sent.text)
        seconds = (_time(replies[0].timestamp) - _time(sent.timestamp)).total_seconds()
        result.latencies.append(seconds)
    return result


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank: a value that was measured."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class LoadReport:
    participants: int
    messages: int  # per participant
    seconds: float  # from the first message sent until every reply was seen
    sent: int = 0
    latencies: list[float] = field(default_factory=list)
    lost: list[tuple[str, str]] = field(default_factory=list)  # (phone, text)
    duplicated: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # what the stack refused

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.errors)

    def render(self) -> str:
        replies = len(self.latencies)
        rate = replies / self.seconds if self.seconds else 0.0
        lines = [
            f"{self.participants} participants, {self.messages} messages each: {self.sent} sent, "
            f"{replies} replied in {self.seconds:.1f}s ({rate:.1f} replies/s)",
            "reply latency: "
            + "  ".join(
                f"{name} {percentile(self.latencies, q) * 1000:.0f} ms"
                for name, q in (("median", 50), ("p95", 95), ("p99", 99))
            ),
            f"lost: {len(self.lost)}  duplicated: {len(self.duplicated)}  "
            f"errors: {len(self.errors)}",
        ]
        lines += [f"  lost: +{phone} {text!r}" for phone, text in self.lost]
        lines += [f"  replied twice: +{phone} {text!r}" for phone, text in self.duplicated]
        lines += [f"  error: {error}" for error in self.errors[:10]]
        return "\n".join(lines)


async def run_load(
    backend: Backend,
    participants: int,
    messages: int,
    personas: PersonaFactory | None = None,
    reply_within: float = 30.0,
    poll_seconds: float = 0.2,
    cleanup: bool = False,
) -> LoadReport:
    """Enroll `participants` personas, drive them concurrently through `messages`
    messages each, and check every reply."""
    if personas is None:  # new phones only: a stack in use has people already
        personas = PersonaFactory(taken={p.phone_number for p in await backend.participants()})
    cast = await asyncio.gather(*(backend.enroll(personas.make()) for _ in range(participants)))
    report = LoadReport(participants, messages, 0.0)
    poll_seconds = max(poll_seconds, participants / MAX_CHAT_READS_PER_SECOND)
    started = time.monotonic()
    await asyncio.gather(
        *(_converse(backend, p, script(messages), reply_within, poll_seconds, report) for p in cast)
    )
    report.seconds = time.monotonic() - started
    # A late duplicate would arrive after its participant stopped waiting: look again
    # once the stack has had a moment to send anything still on its way.
    await asyncio.sleep(max(1.0, poll_seconds * 5))
    for participant in cast:
        check = check_chat(await backend.chat(participant.phone_number))
        report.latencies += check.latencies
        report.lost += [(participant.phone_number, text) for text in check.lost]
        report.duplicated += [(participant.phone_number, text) for text in check.duplicated]
        if cleanup:
            await backend.delete(participant.id)
    return report


async def _converse(
    backend: Backend,
    participant: Participant,
    texts: list[str],
    reply_within: float,
    poll_seconds: float,
    report: LoadReport,
) -> None:
    phone = participant.phone_number
    for text in texts:
        try:
            before = _replies(await backend.chat(phone))
            await backend.send_text(phone, text)
            report.sent += 1
            deadline = time.monotonic() + reply_within
            while _replies(await backend.chat(phone)) <= before:
                if time.monotonic() >= deadline:
                    return  # lost: the final check counts it; the rest would only pile up
                await asyncio.sleep(poll_seconds)
        except StackError as exc:
            report.errors.append(f"+{phone} {text!r}: {exc}")
            return


def _replies(chat: list[ChatMessage]) -> int:
    return sum(1 for m in chat if m.direction == "outbound")


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
