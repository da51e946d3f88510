"""A load run as one process sees it: its participants, the book of their replies, the
event stream that fills it, and the final check of every chat.

Each process that drives participants (Locust's single process, or each of its workers)
has one. Nothing here imports Locust: results go out through a `Report` callback, which
`locustfile.py` turns into Locust request events.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from promptpipe_simulator.core.clients import CHAT, ChatMessage
from promptpipe_simulator.core.load import check_chat
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.core.replies import Duplicate, ReplyBook
from promptpipe_simulator.core.reply_stream import ReplyStream
from promptpipe_simulator.settings import Settings

log = logging.getLogger(__name__)


class LostReply(Exception):
    """No reply to a message within the wait (`Mix.within`), or none at all."""


class DuplicateReply(Exception):
    """A message answered twice."""


class ChatCheckFailed(Exception):
    """The final check found a message of a chat lost or answered twice."""


class UnreadableChat(Exception):
    """The final check could not read a participant's chat."""


# (request type, name, seconds or None, error or None): one entry of the statistics.
Report = Callable[[str, str, float | None, Exception | None], None]

# After the last message, how long a late duplicate has to show up before chats are read.
GRACE_SECONDS = 1.0


@dataclass
class Mix:
    """How the participants behave; every weight is relative, 0 turns a behaviour off."""

    personalize: float = 3.0  # intake by personalize ...
    try_now: float = 1.0  # ... or by try now
    small_talk: float = 1.0  # in FEEDBACK: a few words ...
    daily_prompts: float = 3.0  # ... or the day's prompt answered with its buttons
    silent: float = 0.1  # share of participants who stop answering during the intake
    messages: int = 0  # stop after this many messages each (0: go on until the end)
    within: float = 30.0  # seconds to wait for a reply before calling it lost
    think: float = 1.0  # at most this many seconds between a reply and the next message


# The participants' options, one definition for Locust's command line (and its web UI)
# and for `simulator load`: (flag, Mix field or other option, type, help).
OPTIONS: list[tuple[str, type, str]] = [
    ("--personalize", float, "weight of the intake by personalize (3)"),
    ("--try-now", float, "weight of the intake by try now (1)"),
    ("--small-talk", float, "in FEEDBACK, weight of a few words (1)"),
    ("--daily-prompts", float, "in FEEDBACK, weight of answering the day's prompt (3)"),
    ("--silent", float, "share of participants who fall silent during the intake (0.1)"),
    ("--messages", int, "messages per participant, then it stops (0: no limit)"),
    ("--within", float, "seconds to wait for each reply before it counts as lost (30)"),
    ("--think", float, "at most this many seconds between a reply and the next message (1)"),
    ("--clock-every", float, "move the stack's clock every this many seconds (0: never)"),
    ("--clock-step", str, "how far each move goes, in delivery's terms (12h)"),
]
DEFAULTS: dict[str, Any] = {
    **{name: getattr(Mix(), name) for name in Mix.__dataclass_fields__},
    "clock_every": 0.0,
    "clock_step": "12h",
}


def add_options(parser: Any) -> None:
    """The participants' options on an argparse (or Locust's configargparse) parser."""
    group = parser.add_argument_group("simulated participants")
    for flag, kind, help_text in OPTIONS:
        dest = flag.removeprefix("--").replace("-", "_")
        group.add_argument(flag, type=kind, default=DEFAULTS[dest], help=help_text)
    group.add_argument(
        "--cleanup", action="store_true", help="delete the participants after the final check"
    )


def option_argv(options: Any) -> list[str]:
    """The participants' options as command-line arguments (those not at their default)."""
    argv: list[str] = []
    for flag, _, _ in OPTIONS:
        dest = flag.removeprefix("--").replace("-", "_")
        value = getattr(options, dest, DEFAULTS[dest])
        if value != DEFAULTS[dest]:
            argv += [flag, str(value)]
    if getattr(options, "cleanup", False):
        argv.append("--cleanup")
    return argv


def mix_from(options: Any) -> Mix:
    """The Mix of parsed options (defaults for what they lack). Without time travel no
    daily prompt comes, so nobody waits for one."""
    mix = Mix(**{name: getattr(options, name, DEFAULTS[name]) for name in Mix.__dataclass_fields__})
    if float(getattr(options, "clock_every", 0) or 0) <= 0:
        mix.daily_prompts = 0.0
    return mix


class LoadRun:
    """One process's share of a run: start it before the participants speak, `check` it
    after they stopped."""

    def __init__(self, settings: Settings, mix: Mix, report: Report) -> None:
        self.settings, self.mix, self.report = settings, mix, report
        self.http = httpx.Client(timeout=10)
        self.delivery_headers = (
            {"Authorization": f"Bearer {token}"}
            if (token := settings.delivery_api_token.get_secret_value())
            else {}
        )
        self.offset = self._clock_offset()
        self.book = ReplyBook(on_duplicate=self._duplicate, offset=self.offset)
        self.stream = ReplyStream(settings.mock_wa_url, self.book)
        # Workers on several machines draw phones independently: a random seed per
        # process, and delivery's 409 on a taken number, keep them apart.
        self.personas = PersonaFactory(seed=random.SystemRandom().randrange(2**32))
        self.rng = random.Random()
        self.enrolled: dict[str, str] = {}  # phone -> participant id

    def start(self) -> None:
        self.stream.start()

    def now(self) -> datetime:
        """The stack's time (time travel included), for choosing times of day."""
        return datetime.fromtimestamp(time.time() + self.book.offset, UTC)

    def enrolled_as(self, phone: str, participant_id: str) -> None:
        self.enrolled[phone] = participant_id
        self.book.watch(phone)

    def check(self, cleanup: bool = False) -> None:
        """Wait for the replies still on their way, then read every chat once more and
        report each message that went unanswered or was answered twice."""
        deadline = time.monotonic() + self.mix.within
        while (waiting := self.book.unanswered()) and time.monotonic() < deadline:
            log.info("final check: %d message(s) still waiting for a reply", len(waiting))
            time.sleep(1.0)
        time.sleep(GRACE_SECONDS)
        moves = list(self.book.clock_moves)
        with ThreadPoolExecutor(max_workers=8) as pool:
            chats = list(pool.map(self._chat, self.enrolled))
        for phone, chat in zip(self.enrolled, chats, strict=True):
            if chat is None:
                self.report("check", "chat", None, UnreadableChat(f"+{phone}"))
                continue
            result = check_chat(chat, moves)
            for text in result.lost:
                self.report("check", "lost", None, LostReply(f"+{phone} {text!r}"))
            for text in result.duplicated:
                self.report("check", "duplicated", None, DuplicateReply(f"+{phone} {text!r}"))
            for _ in result.late:  # the agent's answer after a fallback: expected
                self.report("check", "late reply", 0.0, None)
            failed = ChatCheckFailed(
                f"lost {len(result.lost)}, duplicated {len(result.duplicated)}"
            )
            self.report("check", "chat", 0.0, None if result.ok else failed)
        if cleanup:
            for participant_id in self.enrolled.values():
                self.http.delete(
                    f"{self.settings.delivery_url}/conversation/participants/{participant_id}",
                    headers=self.delivery_headers,
                )

    def stop(self) -> None:
        self.stream.stop()
        self.http.close()

    def _duplicate(self, duplicate: Duplicate) -> None:
        self.report("reply", duplicate.step, None, DuplicateReply(f"+{duplicate.phone}"))

    def _chat(self, phone: str) -> list[ChatMessage] | None:
        try:
            resp = self.http.get(f"{self.settings.mock_wa_url}/_mock/phones/{phone}/messages")
            resp.raise_for_status()
            return CHAT.validate_python(resp.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("reading +%s's chat: %s", phone, exc)
            return None

    def _clock_offset(self) -> float:
        """The mock's clock offset (time travel so far); 0, with a warning, when the mock
        cannot be read (the run then fails on its first enrolment anyway)."""
        try:
            resp = self.http.get(f"{self.settings.mock_wa_url}/_mock/clock")
            resp.raise_for_status()
            return float(resp.json().get("offset_seconds") or 0.0)
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("reading the mock's clock: %s", exc)
            return 0.0


class ClockKeeper:
    """The run's one time traveller: moves the stack's clock by `step` (delivery's
    `/dev/clock`, e.g. "12h") every `every` seconds, so that daily prompts, reminders and
    check-ins fall due for the participants in FEEDBACK. One per run, never per user."""

    def __init__(self, settings: Settings, every: float, step: str, report: Report) -> None:
        self.settings, self.every, self.step, self.report = settings, every, step, report
        token = settings.delivery_api_token.get_secret_value()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="clock-keeper", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=15)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self.stopping.wait(self.every):
                started = time.monotonic()
                error: Exception | None = None
                try:
                    resp = http.post(
                        f"{self.settings.delivery_url}/dev/clock",
                        json={"advance": self.step},
                        headers=self.headers,
                    )
                    if resp.status_code != 200:
                        error = ClockNotMoved(f"HTTP {resp.status_code}")
                except httpx.HTTPError as exc:
                    error = ClockNotMoved(type(exc).__name__)
                self.report("clock", f"+{self.step}", time.monotonic() - started, error)


class ClockNotMoved(Exception):
    """delivery refused or missed a move of the clock."""
