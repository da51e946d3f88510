"""The event log: what delivery did (its dev event feed: agent calls with latency and
retries, outbox sends, statuses), what the fake WhatsApp did (its event stream when it
has one, else its webhook deliveries), and the lines of a scenario run, newest last.

Every event becomes one short sentence, coloured by where it came from and by how bad it
is (`describe_*`, pure functions); the raw event stays with its line, so selecting the
line opens it in full (EventDetailsScreen)."""

from __future__ import annotations

import contextlib
import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime
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
    when: str = ""  # HH:MM:SS of the stack's clock
    raw: dict[str, Any] = field(default_factory=dict)
    phones: set[str] = field(default_factory=set)  # whole or masked numbers it concerns
    message_ids: set[str] = field(default_factory=set)
    participant_id: str = ""

    def markup(self) -> str:
        colour = SEVERITY_COLOURS.get(self.severity, "")
        text = f"[{colour}]{self.text}[/]" if colour else self.text
        tag = f"[{SOURCE_COLOURS.get(self.source, 'white')}]{self.source:<9}[/]"
        when = f"[dim]{self.when}[/] " if self.when else ""
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


def _when(event: dict[str, Any]) -> str:
    return str(event.get("time", ""))[11:19]


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
    entry = LogEntry("whatsapp", "", when=_when(event), raw=event)
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
        entry.text = f"clock → {_clock(d.get('now'))}"
        offset = float(d.get("offset_seconds") or 0)
        if offset:
            entry.text += f" (+{offset / 3600:.1f} h)"
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


def _clock(now: object) -> str:
    try:
        moment = datetime.fromisoformat(str(now).replace("Z", "+00:00"))
    except ValueError:
        return str(now)
    return f"{moment:%a %H:%M} UTC"


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
    entry = LogEntry("delivery", "", when=_when(event), raw=event)
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
            entry.text, entry.severity = f"reply queued (fallback apology) for {who}", "error"
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


def describe(delivery: dict[str, Any]) -> LogEntry:
    """One line for a webhook delivery of an older mock's /_mock/webhooks (no stream)."""
    what, phones, ids = _what_a_webhook_carries(delivery.get("payload"))
    attempts = delivery.get("attempts") or []
    last = attempts[-1] if attempts else {}
    head = f"webhook #{delivery.get('id')} {what}"
    tries = f" after {len(attempts)} tries" if len(attempts) > 1 else ""
    state = delivery.get("state")
    if state == "delivered":
        text = f"{head} → delivery {last.get('status_code', 200)}{tries}"
        text += f" in {_ms(last.get('latency_ms', 0))}"
        severity = "info"
    elif state == "gave_up":
        text, severity = f"{head} → gave up{tries}", "error"
    else:
        text, severity = f"{head} → retrying{tries}", "warning"
    return LogEntry(
        "whatsapp",
        escape(text),
        severity,
        when=str(last.get("at", ""))[11:19],
        raw=delivery,
        phones=phones,
        message_ids=ids,
    )


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
    """The log's lines, newest last; Enter or a click opens one, `f` keeps only the
    selected participant's."""

    BINDINGS = [Binding("f", "app.filter_events", "Only this participant")]
    MAX_ENTRIES = 500

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Keys: a delivery's id (mock webhook deliveries), ("mock", seq), ("delivery", id);
        # values: the line's markup, so a delivery whose line changed is shown again.
        self.shown: dict[object, str] = {}
        self.entries: dict[str, LogEntry] = {}  # by option id, oldest first
        self._ids = itertools.count(1)
        # The participant (phone, id) the log is narrowed to, or None for everyone.
        self.only: tuple[str, str] | None = None
        # Which phone each message id belongs to, so a status that names only the
        # message (delivery's webhook.status) still finds its participant.
        self._owners: dict[str, str] = {}
        self.border_title = "events"

    def show_events(self, events: list[dict[str, Any]]) -> int:
        """Write events not shown yet; returns the last sequence number seen."""
        last = 0
        for event in events:
            seq = int(event.get("seq", 0))
            last = max(last, seq)
            if ("mock", seq) not in self.shown:
                self._add(("mock", seq), describe_event(event))
        return last

    def show_delivery_events(self, events: list[dict[str, Any]]) -> int:
        """Write delivery's events not shown yet; returns the last id seen."""
        last = 0
        for event in events:
            ident = int(event.get("id", 0))
            last = max(last, ident)
            if ("delivery", ident) not in self.shown:
                self._add(("delivery", ident), describe_delivery_event(event))
        return last

    def show(self, deliveries: list[dict[str, Any]]) -> None:
        for delivery in deliveries:
            entry = describe(delivery)
            if self.shown.get(delivery["id"]) != entry.markup():
                self._add(delivery["id"], entry)

    def note(self, line: str) -> None:
        """A line of the simulator's own (a scenario's progress), already markup."""
        self._add(None, LogEntry("simulator", line))

    def _add(self, key: object, entry: LogEntry) -> None:
        if key is not None:
            self.shown[key] = entry.markup()
        for wamid in entry.message_ids:
            for phone in entry.phones:
                self._owners.setdefault(wamid, phone)
        ident = str(next(self._ids))
        self.entries[ident] = entry
        if len(self.entries) > self.MAX_ENTRIES:
            oldest = next(iter(self.entries))
            del self.entries[oldest]
            with contextlib.suppress(OptionDoesNotExist):  # not shown under the filter
                self.remove_option(oldest)
        if self.concerns(entry):
            following = self.highlighted is None or self.highlighted >= self.option_count - 1
            self.add_option(Option(entry.markup(), id=ident))
            if following:
                self.scroll_end(animate=False)

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
        self.border_title = f"events · only {name} (f: all)" if only else "events"
        self.clear_options()
        self.add_options(
            Option(entry.markup(), id=ident)
            for ident, entry in self.entries.items()
            if self.concerns(entry)
        )
        self.scroll_end(animate=False)

    def texts(self) -> list[str]:
        """The plain text of the lines shown, oldest first (for tests and copying)."""
        return [Text.from_markup(str(option.prompt)).plain for option in self.options]


class EventDetailsScreen(ModalScreen[None]):
    """One event in full: its line, then the raw JSON with payload and signature."""

    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close")]

    def __init__(self, entry: LogEntry) -> None:
        super().__init__()
        self.entry = entry
        self.text = json.dumps(entry.raw, indent=2, ensure_ascii=False, default=str)

    def compose(self) -> ComposeResult:
        with Vertical(id="event-details"):
            yield Static(self.entry.markup(), id="event-line")
            with VerticalScroll():
                yield Static(Syntax(self.text, "json", word_wrap=True), id="event-json")
            yield Static("[dim]Esc to close[/]")
