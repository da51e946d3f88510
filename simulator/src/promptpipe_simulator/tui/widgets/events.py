"""The event log: what delivery did (its dev event feed: agent calls with latency and
retries, outbox sends, statuses), what the fake WhatsApp did (its event stream), and the
lines of a scenario run, in the order of the stack's clock, newest last.

Every event becomes one short sentence, coloured by where it came from and by how bad it
is (`describe_*`, pure functions); the raw event stays with its line, so selecting the
line opens it in full (EventDetailsScreen), with the real time it arrived.

Both services stamp their events with the stack's virtual clock, but they reach the log
by different roads (the mock's live, delivery's polled), so a line may arrive after a
later one: it is put in its place rather than at the end."""

from __future__ import annotations

import bisect
import contextlib
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.markup import escape
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option, OptionDoesNotExist

from promptpipe_simulator.tui.stack_time import StackClock, parse_moment, span

SOURCE_COLOURS = {
    "whatsapp": "green",
    "delivery": "cyan",
    "agent": "magenta",
    "simulator": "blue",
}
SEVERITY_COLOURS = {"error": "red", "warning": "yellow", "info": "", "quiet": "dim"}


@dataclass
class LogEntry:
    """One line of the log and the event it came from."""

    source: str  # whatsapp, delivery, agent, simulator
    text: str  # Rich markup, escaped
    severity: str = "info"  # error, warning, info, quiet
    moment: datetime | None = None  # on the stack's (virtual) clock
    raw: dict[str, Any] = field(default_factory=dict)
    phones: set[str] = field(default_factory=set)  # whole or masked numbers it concerns
    message_ids: set[str] = field(default_factory=set)
    participant_id: str = ""
    received: datetime = field(default_factory=lambda: datetime.now(UTC))  # real time

    def markup(self, clock: StackClock | None = None) -> str:
        colour = SEVERITY_COLOURS.get(self.severity, "")
        text = f"[{colour}]{self.text}[/]" if colour else self.text
        tag = f"[{SOURCE_COLOURS.get(self.source, 'white')}]{self.source:<9}[/]"
        when = ""
        if self.moment is not None:
            local = clock.local(self.moment) if clock else self.moment
            when = f"[dim]{local:%H:%M:%S}[/] "
        return f"{when}{tag} {text}"


def short_phone(number: object) -> str:
    """+15551234567 or delivery's masked 1555•••4567 → +1555…4567: enough to tell apart."""
    digits = "".join(c for c in str(number) if c.isdigit())
    if "•" in str(number) and len(digits) == 8:  # delivery masks all but four and four
        return f"+{digits[:4]}…{digits[4:]}"
    if len(digits) <= 8:
        return "+" + digits if digits else "?"
    return f"+{digits[:4]}…{digits[-4:]}"


def short_id(wamid: object) -> str:
    """A WhatsApp message id is long; its last four characters tell it apart here."""
    text = str(wamid or "")
    return f"wamid…{text[-4:]}" if text else "?"


def short_ref(ident: object) -> str:
    """An outbox row's id (a long hex string) by its last four characters."""
    text = str(ident or "?")
    return f"…{text[-4:]}" if len(text) > 8 else text


def quote(text: object, width: int = 32) -> str:
    words = " ".join(str(text or "").split())
    return f'"{words[: width - 1]}…"' if len(words) > width else f'"{words}"'


def _ms(value: object) -> str:
    try:
        return f"{float(str(value)):.0f} ms"
    except ValueError:
        return "? ms"


def _what_a_webhook_carries(payload: object) -> tuple[str, set[str], set[str]]:
    """What a webhook payload says, in a few words, with the phones and wamids it names."""
    try:
        value = payload["entry"][0]["changes"][0]["value"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return "webhook", set(), set()
    if value.get("messages"):
        m = value["messages"][0]
        return f"message from {short_phone(m.get('from'))}", {str(m.get("from"))}, {m.get("id")}
    if value.get("statuses"):
        st = value["statuses"][0]
        phone = str(st.get("recipient_id"))
        return f"status {st.get('status')} · {short_id(st.get('id'))}", {phone}, {st.get("id")}
    return "webhook", set(), set()


def _message_words(data: dict[str, Any]) -> str:
    """What a chat message says: its text, the button tapped, the template's name."""
    kind = str(data.get("type", ""))
    found = data.get(kind)
    details: dict[str, Any] = found if isinstance(found, dict) else {}
    if kind == "template":
        return f"template {details.get('name', '?')}"
    if kind == "interactive":
        reply = details.get("button_reply") or details.get("list_reply") or {}
        if reply.get("title"):
            return f"tapped {quote(reply['title'])}"
        if data.get("text"):
            return f"{details.get('type', 'interactive')} {quote(data['text'])}"
    if data.get("text"):
        return quote(data["text"])
    return kind or "message"


def describe_event(event: dict[str, Any]) -> LogEntry:
    """One line for an event of mock_whatsapp's stream ({"seq", "time", "kind", "data"})."""
    kind, d = str(event.get("kind", "")), event.get("data") or {}
    phone = d.get("phone")
    entry = LogEntry("whatsapp", "", moment=parse_moment(event.get("time")), raw=event)
    if phone:
        entry.phones.add(str(phone))
    if d.get("id"):
        entry.message_ids.add(str(d["id"]))
    who = short_phone(phone)
    if kind == "message.inbound":
        entry.text = f"{who} sent {_message_words(d)}"
    elif kind == "message.outbound":
        entry.text = f"coach → {who}: {_message_words(d)}"
    elif kind == "message.status":
        status = str(d.get("status"))
        entry.text = f"status {status} · {short_id(d.get('id'))}"
        if status == "failed":
            errors = d.get("errors") or [{}]
            entry.text += f" ({errors[0].get('code', '?')} {errors[0].get('title', '')})".rstrip()
            entry.severity = "error"
    elif kind == "message.read_by_business":
        entry.text = f"business read {who}'s message"
        entry.severity = "quiet"
    elif kind == "typing":
        if d.get("typing"):
            entry.text = f"coach typing… ({who})"
        else:
            entry.text = f"coach stopped typing ({who}, {d.get('reason', 'done')})"
        entry.severity = "quiet"
    elif kind == "webhook.queued":
        what, phones, ids = _what_a_webhook_carries(d.get("payload"))
        entry.text = f"webhook #{d.get('delivery_id')} queued: {what}"
        entry.phones |= phones
        entry.message_ids |= ids
        entry.severity = "quiet"
    elif kind == "webhook.attempt":
        what, phones, ids = _what_a_webhook_carries(d.get("payload"))
        entry.phones |= phones
        entry.message_ids |= ids
        code, attempt = d.get("status_code"), int(d.get("attempt") or 1)
        outcome = str(code) if code is not None else str(d.get("error") or "no answer")
        head = f"webhook #{d.get('delivery_id')} "
        head += f"retry {attempt}" if attempt > 1 else what
        if isinstance(code, int) and 200 <= code < 300:
            entry.text = f"{head} → delivery {outcome} in {_ms(d.get('latency_ms'))}"
        elif d.get("state") == "gave_up":
            entry.text, entry.severity = f"{head} → {outcome}", "error"
        else:
            entry.text, entry.severity = f"{head} → {outcome}, will retry", "warning"
    elif kind == "webhook.gave_up":
        last = d.get("status_code") or d.get("error") or "no answer"
        entry.text = f"webhook #{d.get('delivery_id')} gave up after {d.get('attempts')} tries"
        entry.text += f" (last: {last})"
        entry.severity = "error"
    elif kind == "api.error":
        entry.text = f"API error {d.get('code', d.get('status'))} on {d.get('endpoint')}"
        if d.get("message") or d.get("title"):
            entry.text += f": {d.get('message') or d.get('title')}"
        entry.severity = "error"
    elif kind == "clock.changed":
        # The line's own time is where the clock landed.
        offset = float(d.get("offset_seconds") or 0)
        entry.text = f"clock moved: {span(offset)} ahead of real time" if offset else "clock reset"
    elif kind == "phone.updated":
        if "name" in d:
            entry.text = f"phone {who} ({d.get('name') or 'no name'}) saved"
        else:
            flags = [
                name for name in ("online", "on_whatsapp", "auto_read") if d.get(name) is False
            ]
            flags = [f"not {name.replace('_', ' ')}" for name in flags]
            flags += ["blocked"] if d.get("blocked") else []
            entry.text = f"phone {who}: {', '.join(flags) or 'normal'}"
        entry.severity = "quiet"
    elif kind == "reset":
        entry.text, entry.severity = "mock reset: every chat cleared", "warning"
    elif kind == "fault.injected":
        entry.text = f"fault injected: {_fault(d)}"
        if d.get("times") is not None:
            entry.text += f" ({int(d['times']) - int(d.get('hits') or 0)} left)"
        entry.severity = "error"
    elif kind == "fault.changed":
        faults = d.get("faults") or []
        entry.text = "faults: " + ("; ".join(_fault(f) for f in faults) if faults else "none")
        entry.severity = "warning" if faults else "info"
    else:
        entry.text = kind or "event"
    entry.text = escape(entry.text)
    return entry


def _fault(fault: dict[str, Any]) -> str:
    """A fault of the mock's book: its target and what it does."""
    parts = [str(fault.get("target", "?"))]
    if fault.get("error_code"):
        parts.append(str(fault["error_code"]))
    if fault.get("webhook"):
        parts.append(str(fault["webhook"]))
    if fault.get("latency_ms"):
        parts.append(f"+{fault['latency_ms']} ms")
    probability = float(fault.get("probability", 1.0))
    if probability < 1:
        parts.append(f"{probability:.0%}")
    return " ".join(parts)


def describe_delivery_event(event: dict[str, Any]) -> LogEntry:
    """One line for an event of delivery's feed ({"id", "time", "kind", "data"})."""
    kind, d = str(event.get("kind", "")), event.get("data") or {}
    entry = LogEntry("delivery", "", moment=parse_moment(event.get("time")), raw=event)
    if d.get("phone"):
        entry.phones.add(str(d["phone"]))
    if d.get("message_id"):
        entry.message_ids.add(str(d["message_id"]))
    entry.participant_id = str(d.get("participant_id") or "")
    who = short_phone(d.get("phone"))
    if kind == "agent.call":
        entry.source = "agent"
        tries = f"{d.get('attempt')}/{d.get('max_attempts')}"
        if d.get("ok"):
            entry.text = f"agent call {tries} ok in {_ms(d.get('latency_ms'))}"
        else:
            entry.text = f"agent call {tries} failed: {d.get('error', '?')}"
            entry.text += f" ({_ms(d.get('latency_ms'))})"
            last = d.get("attempt") == d.get("max_attempts")
            entry.severity = "error" if last else "warning"
    elif kind == "reply.queued":
        entry.source = "agent"
        route = str(d.get("route", ""))
        if route == "fallback":
            entry.text, entry.severity = (
                f"reply queued (fallback: the agent failed) for {who}",
                "error",
            )
        else:
            entry.text = f"reply queued ({route}) for {who} in {_ms(d.get('duration_ms'))}"
            entry.severity = "info" if route == "agent" else "warning"
    elif kind == "outbox.sent":
        entry.text = f"sent #{short_ref(d.get('outbox_id'))} to {who}"
        entry.text += f" → {short_id(d.get('message_id'))} in {_ms(d.get('latency_ms'))}"
    elif kind == "outbox.retry":
        entry.text = (
            f"send #{short_ref(d.get('outbox_id'))} try {d.get('attempt')} failed, will retry: "
        )
        entry.text += str(d.get("error", "?"))
        entry.severity = "warning"
    elif kind == "outbox.failed":
        entry.text = f"send #{short_ref(d.get('outbox_id'))} failed for good: {d.get('error', '?')}"
        entry.severity = "error"
    elif kind == "whatsapp.read":
        tries = f" after {d.get('attempts')} tries" if int(d.get("attempts") or 1) > 1 else ""
        if d.get("ok"):
            entry.text, entry.severity = f"marked read, typing… {who}{tries}", "quiet"
        else:
            entry.text = f"read receipt failed {who}{tries}: {d.get('error', '?')}"
            entry.severity = "warning"
    elif kind == "webhook.message":
        entry.text = f"took {d.get('type')} from {who}"
        if d.get("duplicate"):
            entry.text += " (duplicate, ignored)"
            entry.severity = "warning"
    elif kind == "webhook.status":
        entry.text = f"took status {d.get('status')} · {short_id(d.get('message_id'))}"
        if d.get("error_code"):
            entry.text += f" (error {d['error_code']})"
            entry.severity = "error"
    elif kind == "webhook.refused":
        entry.text, entry.severity = f"webhook refused: {d.get('reason', '?')}", "error"
    else:
        entry.text = kind or "event"
    entry.text = escape(entry.text)
    return entry


def _digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())


def same_phone(number: str, other: str) -> bool:
    """Whole numbers compare equal; a masked one (1555•••4567) by its visible ends."""
    a, b = _digits(number), _digits(other)
    if not a or not b:
        return False
    if "•" not in number and "•" not in other:
        return a == b
    return a[:4] == b[:4] and a[-4:] == b[-4:]


class EventLog(OptionList):
    """The log's lines in the order of the stack's clock, newest last; Enter or a click
    opens one; ctrl+f (the app's) keeps only the open participant's."""

    BINDINGS = [
        Binding(
            "enter",
            "select",
            "Open",
            show=False,
            tooltip="On a line of the event log: the event in full (raw JSON, payload, "
            "signature, the real time it arrived)",
            id="panels.open-event",
        )
    ]
    MAX_ENTRIES = 500

    def __init__(self, clock: StackClock | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock or StackClock()
        # Keys: ("mock", seq), ("delivery", id), ("phone", number): what is shown already.
        self.shown: dict[object, str] = {}  # key -> option id
        self.entries: dict[str, LogEntry] = {}  # option id -> entry
        self.order: list[tuple[datetime, int, str]] = []  # (moment, arrival, option id)
        self._ids = itertools.count(1)
        # The participant (phone, id) the log is narrowed to, or None for everyone.
        self.only: tuple[str, str] | None = None
        # Which phone each message id belongs to, so a status that names only the
        # message (delivery's webhook.status) still finds its participant.
        self._owners: dict[str, str] = {}
        self.border_title = "events"

    def show_events(self, events: list[dict[str, Any]]) -> None:
        """Write the mock's events not shown yet."""
        for event in events:
            entry = describe_event(event)
            data = event.get("data") or {}
            if event.get("kind") == "phone.updated" and "name" in data:
                # A phone's profile is saved on enrollment and again later: one line per
                # phone, kept up to date, rather than one per save.
                self._put(("phone", str(data.get("phone"))), entry)
            else:
                self._put(("mock", int(event.get("seq", 0))), entry, replace=False)

    def show_delivery_events(self, events: list[dict[str, Any]]) -> int:
        """Write delivery's events not shown yet; returns the last id seen."""
        last = 0
        for event in events:
            ident = int(event.get("id", 0))
            last = max(last, ident)
            self._put(("delivery", ident), describe_delivery_event(event), replace=False)
        return last

    def note(self, line: str) -> None:
        """A line of the simulator's own (a scenario's progress), already markup."""
        self._put(None, LogEntry("simulator", line, moment=self._latest()))

    def _latest(self) -> datetime | None:
        return self.clock.now or (self.order[-1][0] if self.order else None)

    def _put(self, key: object, entry: LogEntry, replace: bool = True) -> None:
        if key in self.shown:
            if not replace:
                return
            self._forget(self.shown.pop(key))
        for wamid in entry.message_ids:
            for phone in entry.phones:
                self._owners.setdefault(wamid, phone)
        ident = str(next(self._ids))
        if key is not None:
            self.shown[key] = ident
        self.entries[ident] = entry
        moment = entry.moment or self._latest() or datetime.now(UTC)
        place = (moment, int(ident), ident)
        at_end = not self.order or place >= self.order[-1]
        bisect.insort(self.order, place)
        while len(self.order) > self.MAX_ENTRIES:
            self._forget(self.order[0][2])
        if ident not in self.entries or not self.concerns(entry):
            return
        if at_end:
            following = self.highlighted is None or self.highlighted >= self.option_count - 1
            self.add_option(Option(entry.markup(self.clock), id=ident))
            if following:
                self.scroll_end(animate=False)
        else:
            self.redraw()  # an earlier moment than the last line: into its place

    def _forget(self, ident: str) -> None:
        """Drop a line: from the log's memory and, if shown, from the screen."""
        self.entries.pop(ident, None)
        self.order = [p for p in self.order if p[2] != ident]
        with contextlib.suppress(OptionDoesNotExist):  # not shown under the filter
            self.remove_option(ident)

    def concerns(self, entry: LogEntry) -> bool:
        """Whether the line is shown under the current filter."""
        if self.only is None or entry.source == "simulator":
            return True
        phone, participant_id = self.only
        if entry.participant_id:
            return entry.participant_id == participant_id
        phones = entry.phones | {self._owners[m] for m in entry.message_ids if m in self._owners}
        return any(same_phone(p, phone) for p in phones)

    def narrow_to(self, only: tuple[str, str] | None, name: str = "") -> None:
        """Show only the lines of one participant (phone, id), or everyone's."""
        self.only = only
        self.border_title = f"events · only {name} (ctrl+f: all)" if only else "events"
        self.redraw()
        self.scroll_end(animate=False)

    def redraw(self) -> None:
        """Every line again, in order, in the clock's zone; the highlighted one stays."""
        highlighted = self.highlighted_option.id if self.highlighted_option else None
        following = self.highlighted is None or self.highlighted >= self.option_count - 1
        self.set_options(
            Option(self.entries[ident].markup(self.clock), id=ident)
            for _, _, ident in self.order
            if self.concerns(self.entries[ident])
        )
        if highlighted is not None and not following:
            try:
                self.highlighted = self.get_option_index(highlighted)
            except OptionDoesNotExist:  # filtered out or dropped meanwhile
                self.highlighted = None
        elif following:
            self.scroll_end(animate=False)

    def texts(self) -> list[str]:
        """The plain text of the lines shown, oldest first (for tests and copying)."""
        return [Text.from_markup(str(option.prompt)).plain for option in self.options]


class EventDetailsScreen(ModalScreen[None]):
    """One event in full: its line, when it happened on the stack's clock and when it
    arrived in real time, then the raw JSON with payload and signature."""

    BINDINGS = [
        Binding("escape,enter", "dismiss", "Close", tooltip="Close the details", id="app.close")
    ]

    def __init__(self, entry: LogEntry, clock: StackClock) -> None:
        super().__init__()
        self.entry = entry
        self.clock = clock
        self.text = json.dumps(entry.raw, indent=2, ensure_ascii=False, default=str)

    def compose(self) -> ComposeResult:
        entry, clock = self.entry, self.clock
        when = []
        if entry.moment is not None:
            when.append(f"stack time {clock.local(entry.moment):%a %d %b %H:%M:%S} {clock.zone}")
        when.append(f"arrived {entry.received.astimezone():%H:%M:%S} real time (this machine)")
        with Vertical(id="event-details"):
            yield Static(entry.markup(clock), id="event-line")
            yield Static("[dim]" + escape(" · ".join(when)) + "[/]", id="event-when")
            with VerticalScroll():
                yield Static(Syntax(self.text, "json", word_wrap=True), id="event-json")
            yield Static("[dim]Esc to close[/]")
