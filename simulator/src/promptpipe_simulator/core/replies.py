"""Pairs each participant's message with the coach's reply, from mock_whatsapp's events.

The mock publishes every message in order: the phone's message (`message.inbound`), then
whatever the business sends that phone (`message.outbound`). The first message the
business sends after a participant's message is its reply; a second one, before the
participant writes again, is a duplicate unless the stack's clock moved in between (time
travel makes due jobs fire: daily prompts, reminders, check-ins), in which case it is an
unsolicited message, kept in the phone's inbox for the participant to answer.

Time travel moves the clock in steps, one per due job, and a job due at the last step may
be sent just after the participant's next message: an extra message within
`SETTLE_SECONDS` of a clock move is taken for a job's too. So duplicates are told apart
exactly in runs without time travel, and all but around a clock move in runs with it.

A reply may arrive before its participant starts waiting (the event stream can be faster
than the answer to the participant's own POST): it is kept, and the wait returns at once.
Latency comes from the mock's own timestamps of the message and its reply, less any clock
jump in between, so neither the stream's delay nor time travel blurs it.

When the agent cannot be reached, delivery answers in its place (a *fallback*: the
message still got a reply, counted apart from real ones) and keeps the message for the
agent; once the agent is back, its late answer may follow the fallback (delivery's
`DELIVERY_LATE_REPLY_WITHIN`), quoting the message it answers (`context_id`), even after
the participant's next message. One such late reply after a fallback is expected, not a
duplicate. delivery's fallback is its Go responder's answer (`AGENT_FALLBACK=responder`,
the default) or the guide's fixed apology (`AGENT_FALLBACK=apology`); both are told by
their words, which are fixed (delivery/internal/fallback; tests/e2e/test_migration.py
checks them against delivery's own responder).

Nothing here does I/O: a stream consumer feeds `take`, participants call `sent` and
`wait`. Waiting uses `threading.Event`, which Locust's gevent turns into a greenlet wait.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Event = dict[str, Any]
# How long after a clock move a due job's message may still come (see above).
SETTLE_SECONDS = 10.0
Message = dict[str, Any]  # a message as the mock's chat API and events show it
# delivery's fixed answer when the agent cannot be reached (the integration guide's text).
FALLBACK_APOLOGY = (
    "I apologize, but I'm having trouble processing your message right now. Please try again later."
)
# What delivery's Go responder answers in the agent's place (delivery/internal/fallback):
# to a Done, to a Next time, and to anything else.
FALLBACK_RESPONDER = (
    "Nice work, that counts! Your coach is away for a moment and will be back soon.",
    "No problem, tomorrow is another chance. Your coach is away for a moment and will be "
    "back soon.",
    "Thanks for your message! Your coach is taking a short break and will answer properly "
    "soon. If you are answering today's habit prompt, tap Done or Next time.",
)
FALLBACKS = frozenset((FALLBACK_APOLOGY, *FALLBACK_RESPONDER))


def is_fallback(text: str | None) -> bool:
    """Whether a message of the coach is delivery's fallback (the apology or its Go
    responder's answer) rather than the agent's."""
    return (text or "").strip() in FALLBACKS


@dataclass
class Reply:
    """The coach's answer to one of the participant's messages."""

    message_id: str  # the participant's message
    step: str  # what that message was, for the statistics ("personalize", "small talk")
    message: Message  # the reply as the mock showed it
    latency: float  # seconds, from the mock's timestamps, clock jumps taken out

    @property
    def buttons(self) -> list[dict[str, str]]:
        return list((self.message.get("interactive") or {}).get("buttons") or [])

    @property
    def fallback(self) -> bool:
        """delivery's fallback: the agent could not be reached."""
        return is_fallback(self.message.get("text"))


@dataclass
class Duplicate:
    """A second answer to one message: the stack sent a reply twice."""

    phone: str
    message_id: str
    step: str
    message: Message


@dataclass
class _Turn:
    phone: str
    message_id: str
    step: str
    sent_at: datetime | None = None  # the mock's timestamp of the message
    offset: float | None = None  # the mock clock's offset when the message was recorded
    clock_moves: int = 0  # how many clock moves the book had seen by then
    after_move: bool = False  # opened within SETTLE_SECONDS of a clock move
    reply: Reply | None = None
    late: Message | None = None  # the agent's late answer, after a fallback
    woken: threading.Event = field(default_factory=threading.Event)


class ReplyBook:
    """What the coach answered to each message of the participants this process drives.

    `on_duplicate` hears of each duplicated reply as it is seen; `offset` is the mock
    clock's offset when the book starts. Events about phones that were never `watch`ed
    (other processes' participants, people in the TUI) are ignored."""

    def __init__(
        self,
        on_duplicate: Callable[[Duplicate], None] = lambda d: None,
        offset: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.on_duplicate = on_duplicate
        self.clock = clock
        self.last_move = -math.inf  # when (by `clock`) the last clock move was seen
        self.lock = threading.Lock()
        self.phones: set[str] = set()
        self.turns: dict[str, _Turn] = {}  # message id -> turn
        self.latest: dict[str, _Turn] = {}  # phone -> its newest turn
        self.inbox: dict[str, list[Message]] = defaultdict(list)  # unsolicited, per phone
        self.offset = offset  # the mock clock's offset from real time, seconds
        self.clock_moves: list[tuple[datetime, float]] = []  # (mock time after, seconds moved)
        self.duplicates: list[Duplicate] = []

    def watch(self, phone: str) -> None:
        """Follow this phone's messages from now on."""
        with self.lock:
            self.phones.add(phone)

    def sent(self, phone: str, message: Message, step: str) -> None:
        """The participant sent `message` (the mock's answer to its POST). Its event may
        already have been taken, or come later: either way the turn is opened once."""
        with self.lock:
            self.phones.add(phone)
            turn = self._open(phone, str(message["id"]))
            turn.step = step
            if turn.reply is not None:  # it came first
                turn.reply.step = step
            if turn.sent_at is None:
                turn.sent_at = _time(message.get("timestamp"))

    def take(self, event: Event) -> None:
        """One event of the mock's stream, in the order the mock published it."""
        kind, data = event.get("kind"), event.get("data") or {}
        with self.lock:
            if kind == "clock.changed":
                offset = float(data.get("offset_seconds") or 0.0)
                moved_to = _time(data.get("now")) or _time(event.get("time"))
                if moved_to is not None and offset != self.offset:
                    self.clock_moves.append((moved_to, offset - self.offset))
                    self.last_move = self.clock()
                self.offset = offset
                return
            phone = str(data.get("phone"))
            if phone not in self.phones or "id" not in data:
                return
            if kind == "message.inbound":
                turn = self._open(phone, str(data["id"]))
                # The stream, not the POST's answer, says which clock the message was
                # recorded under: events come in the order things happened.
                turn.offset = self.offset
                turn.clock_moves = len(self.clock_moves)
                turn.after_move = self.clock() - self.last_move < SETTLE_SECONDS
                turn.sent_at = turn.sent_at or _time(data.get("timestamp"))
            elif kind == "message.outbound":
                self._answered(phone, data)

    def wait(self, message_id: str, timeout: float) -> Reply | None:
        """The reply to a message given to `sent`; None if none came within `timeout`."""
        with self.lock:
            turn = self.turns[message_id]
        turn.woken.wait(timeout)
        return turn.reply

    def unsolicited(self, phone: str) -> list[Message]:
        """Messages the coach sent of its own accord (prompts, reminders), oldest first,
        taken out of the phone's inbox."""
        with self.lock:
            return self.inbox.pop(phone, [])

    def unanswered(self) -> list[tuple[str, str, str]]:
        """(phone, message id, step) of every message still without a reply."""
        with self.lock:
            return [(t.phone, t.message_id, t.step) for t in self.turns.values() if not t.reply]

    def _open(self, phone: str, message_id: str) -> _Turn:
        turn = self.turns.get(message_id)
        if turn is None:
            turn = self.turns[message_id] = _Turn(phone, message_id, step="")
            turn.clock_moves = len(self.clock_moves)
            turn.after_move = self.clock() - self.last_move < SETTLE_SECONDS
            turn.offset = self.offset
            self.latest[phone] = turn
        return turn

    def _answered(self, phone: str, message: Message) -> None:
        quoted = self.turns.get(str(message.get("context_id") or ""))
        apologised = quoted is not None and quoted.reply is not None and quoted.reply.fallback
        if quoted is not None and apologised and quoted.late is None:
            quoted.late = message  # the agent's late answer to the message it had missed
            return
        turn = self.latest.get(phone)
        moved = turn is not None and (len(self.clock_moves) > turn.clock_moves or turn.after_move)
        if turn is None or (turn.reply is not None and moved):
            # Nothing asked for it, or the clock moved about then: a due job's message.
            self.inbox[phone].append(message)
            return
        if turn.reply is not None and turn.reply.fallback and turn.late is None:
            turn.late = message  # the agent, back, answered the message it had missed
            return
        if turn.reply is not None:
            duplicate = Duplicate(phone, turn.message_id, turn.step, message)
            self.duplicates.append(duplicate)
            self.on_duplicate(duplicate)
            return
        turn.reply = Reply(turn.message_id, turn.step, message, self._latency(turn, message))
        turn.woken.set()

    def _latency(self, turn: _Turn, reply: Message) -> float:
        replied_at = _time(reply.get("timestamp"))
        if replied_at is None or turn.sent_at is None:
            return float("nan")
        jumped = self.offset - (turn.offset or 0.0)
        return (replied_at - turn.sent_at).total_seconds() - jumped


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
