"""What simulated participants say under load, and how a run is judged: each chat checked
message by message at the end, and the run's summary.

The participants themselves are Locust users (`participant.py`); this module needs no
Locust, so the checks and the scripts are tested on their own. Each participant waits for
the coach's reply before its next message, as a person would, so every message should get
exactly one reply, right after it. At the end each chat is read once more and checked
pair by pair: a message with no reply is lost, a second reply to it is a duplicate,
except after a clock move (time travel makes due jobs send prompts and reminders), and
except the agent's late answer after delivery's fallback (the agent could not
be reached). Fallbacks are replies, counted apart from the agent's.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from promptpipe_simulator.core.clients import ChatMessage
from promptpipe_simulator.core.personas import TIMEZONES
from promptpipe_simulator.core.replies import SETTLE_SECONDS, is_fallback

Step = tuple[str, str]  # (name in the statistics, what the participant writes)

# The intake by personalize; "{time}" is a preferred time far from now (see `far_time`).
PERSONALIZE: list[Step] = [
    ("hello", "Hello!"),
    ("personalize", "personalize"),
    ("habit", "moving more"),
    ("motivation", "more energy for my kids"),
    ("anchor", "my morning coffee"),
    ("time", "{time}"),
    ("anything else", "No, that's all"),
    ("try now?", "no"),
]
# The intake by try now: the starter habit, scheduled for 11:15 by the coach.
TRY_NOW: list[Step] = [("hello", "Hello!"), ("try now", "Let's try it now")]
TRY_NOW_TIME = "11:05"  # the starter's daily prompt: 11:15 less the prep time
# How far into each intake a participant may fall silent: before anything is scheduled,
# so that a silent participant is never sent a timer's message during the run.
SILENT_BEFORE = {"personalize": PERSONALIZE.index(("time", "{time}")), "try-now": 1}
SMALL_TALK = [
    "Thanks, see you tomorrow!",
    "Sounds good to me",
    "Thanks for the tip!",
    "I'll keep going",
]
# After tapping Done or Next time, the coach asks what helped or what got in the way.
FOLLOW_UP = ["It only took a minute", "Having my shoes by the door", "I forgot, busy morning"]


def far_time(now: datetime, timezone: str) -> str:
    """A preferred time twelve hours from `now` on the participant's clock, so that its
    daily prompt never falls due during a run, only when the clock is moved."""
    local = now.astimezone(ZoneInfo(timezone)) + timedelta(hours=12)
    return f"{local.hour}:{local.minute:02d}"


def timezone_far_from(now: datetime, hhmm: str, rng: random.Random) -> str:
    """A timezone whose clock is at least three hours from `hhmm` (of the day) at `now`:
    a fixed daily time (the try-now starter's) then never falls due during a run."""
    hour, minute = (int(part) for part in hhmm.split(":"))

    def distance(zone: str) -> float:
        local = now.astimezone(ZoneInfo(zone))
        minutes = (local.hour * 60 + local.minute - hour * 60 - minute) % 1440
        return min(minutes, 1440 - minutes)

    far = [zone for zone in TIMEZONES if distance(zone) >= 180]
    return rng.choice(far) if far else max(TIMEZONES, key=distance)


@dataclass
class ChatCheck:
    """One participant's chat, checked: a reply per message, no more."""

    latencies: list[float] = field(default_factory=list)  # seconds, message → its reply
    lost: list[str] = field(default_factory=list)  # texts of messages with no reply
    duplicated: list[str] = field(default_factory=list)  # texts of messages replied twice
    fallbacks: list[str] = field(default_factory=list)  # texts answered with a fallback
    late: list[str] = field(default_factory=list)  # ... and then by the agent, late

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated)


def check_chat(
    chat: list[ChatMessage], clock_moves: Iterable[tuple[datetime, float]] = ()
) -> ChatCheck:
    """Pair each of the participant's messages with the coach's messages that follow it
    up to the next one: exactly one is right, none is lost, more are duplicates unless
    the clock moved since the message or just before it (then they are due jobs'
    messages; see `replies.SETTLE_SECONDS`).

    `clock_moves` are (the mock's time just after the move, seconds moved)."""
    moves = sorted(clock_moves)
    result = ChatCheck()
    turns: list[tuple[ChatMessage, list[ChatMessage]]] = []
    # Replies that quote one of the participant's messages belong to it, wherever they
    # landed: the agent's late answer may come after the participant's next message.
    inbound = {m.id for m in chat if m.direction == "inbound"}
    quoting: dict[str, list[ChatMessage]] = {}
    for message in chat:
        if message.direction == "inbound":
            turns.append((message, []))
        elif message.context_id in inbound:
            quoting.setdefault(str(message.context_id), []).append(message)
        elif turns:
            turns[-1][1].append(message)
    for sent, replies in turns:
        quoted = quoting.get(sent.id, [])
        if not replies:
            result.lost.append(sent.text)
            result.duplicated += [sent.text] if quoted else []
            continue
        sent_at = _time(sent.timestamp)
        settled = sent_at - timedelta(seconds=SETTLE_SECONDS)
        extras = replies[1:]
        if is_fallback(replies[0].text):
            result.fallbacks.append(sent.text)
            if quoted:  # the agent, back, answered the message it had missed
                result.late.append(sent.text)
                quoted = quoted[1:]
            elif extras:  # the same, from a delivery that does not quote
                result.late.append(sent.text)
                extras = extras[1:]
        if quoted:
            result.duplicated.append(sent.text)
            continue
        for extra in extras:
            at = _time(extra.timestamp)
            if not any(settled < moved_to <= at for moved_to, _ in moves):
                result.duplicated.append(sent.text)
                break
        replied_at = _time(replies[0].timestamp)
        jumped = sum(seconds for moved_to, seconds in moves if sent_at < moved_to <= replied_at)
        result.latencies.append((replied_at - sent_at).total_seconds() - jumped)
    return result


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank: a value that was measured."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class LoadSummary:
    """A run in a few lines: what was sent and answered, how fast, and what went wrong.

    Filled from Locust's statistics (see `locustfile.py`), so it reads the same in one
    process and across a master's workers."""

    participants: int
    seconds: float  # from the first request to the last
    sent: int = 0
    replied: int = 0  # by the agent
    fallbacks: int = 0  # answered with delivery's fallback instead (the agent unreachable)
    late_replies: int = 0  # the agent's late answers after a fallback
    latency_ms: dict[int, float] = field(default_factory=dict)  # percentile -> ms
    timed_out: int = 0  # no reply within the wait, seen live
    lost: list[str] = field(default_factory=list)  # "+phone 'text'", from the final check
    duplicated: list[str] = field(default_factory=list)
    chats_checked: int = 0
    errors: int = 0  # refused or failed HTTP calls, user exceptions
    error_kinds: dict[str, int] = field(default_factory=dict)  # "POST send: HTTP 429" -> n

    @property
    def ok(self) -> bool:
        return not (self.timed_out or self.lost or self.duplicated or self.errors)

    def render(self) -> str:
        rate = self.replied / self.seconds if self.seconds else 0.0
        latency = "  ".join(
            f"{name} {self.latency_ms.get(q, math.nan):.0f} ms"
            for name, q in (("median", 50), ("p95", 95), ("p99", 99))
        )
        lines = [
            f"{self.participants} participants: {self.sent} sent, {self.replied} replied "
            f"in {self.seconds:.1f}s ({rate:.1f} replies/s)",
            f"reply latency: {latency}",
            f"lost: {len(self.lost)}  duplicated: {len(self.duplicated)}  "
            f"timed out: {self.timed_out}  errors: {self.errors}  "
            f"(chats checked: {self.chats_checked})",
        ]
        if self.fallbacks or self.late_replies:
            lines.append(
                f"fallbacks (delivery's fallback, the agent unreachable): {self.fallbacks}  "
                f"late replies from the agent after one: {self.late_replies}"
            )
        lines += [f"  lost: {what}" for what in self.lost[:20]]
        lines += [f"  replied twice: {what}" for what in self.duplicated[:20]]
        top = sorted(self.error_kinds.items(), key=lambda kind: -kind[1])[:10]
        lines += [f"  error: {kind} ({count}x)" for kind, count in top]
        return "\n".join(lines)


def _time(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
