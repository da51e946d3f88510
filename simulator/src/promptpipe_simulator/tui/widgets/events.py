"""The event log: what delivery did (its dev event feed: agent calls with latency and
retries, outbox sends, statuses), what the fake WhatsApp did (its event stream when it
has one, else its webhook deliveries), and the lines of a scenario run, newest last."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.widgets import RichLog


def describe(delivery: dict[str, Any]) -> str:
    """One line: what the webhook carried, and how its delivery went."""
    value = delivery["payload"]["entry"][0]["changes"][0]["value"]
    if value.get("messages"):
        m = value["messages"][0]
        what = f"message from +{m['from']}: {m.get('type')}"
    elif value.get("statuses"):
        st = value["statuses"][0]
        what = f"status {st['status']} for +{st['recipient_id']}"
    else:
        what = "webhook"
    attempts = delivery["attempts"]
    last = attempts[-1] if attempts else {}
    outcome = {
        "delivered": "[green]200[/]",
        "gave_up": "[red]gave up[/]",
    }.get(delivery["state"], "[yellow]retrying[/]")
    tries = f" after {len(attempts)} tries" if len(attempts) > 1 else ""
    latency = f" {last.get('latency_ms', 0):.0f} ms" if last else ""
    return f"[dim]#{delivery['id']}[/] webhook {escape(what)} → {outcome}{tries}{latency}"


def describe_event(event: dict[str, Any]) -> str:
    """One line for an event of mock_whatsapp's stream ({"seq", "time", "kind", "data"})."""
    kind, data = str(event.get("kind", "")), event.get("data") or {}
    when = str(event.get("time", ""))[11:19]
    colour = {"api.error": "red", "webhook.gave_up": "red", "fault.injected": "yellow"}.get(
        kind, "cyan"
    )
    details = " ".join(
        f"{k}={v}" for k, v in data.items() if isinstance(v, str | int | float) and k != "payload"
    )
    return f"[dim]{when}[/] [b]whatsapp[/] [{colour}]{escape(kind)}[/] {escape(details[:160])}"


def describe_delivery_event(event: dict[str, Any]) -> str:
    """One line for an event of delivery's feed ({"id", "time", "kind", "data"})."""
    kind, d = str(event.get("kind", "")), event.get("data") or {}
    when = str(event.get("time", ""))[11:19]
    ms = f" {d['latency_ms']} ms" if "latency_ms" in d else ""
    if kind == "agent.call":
        tries = f" {d.get('attempt')}/{d.get('max_attempts')}"
        if d.get("ok"):
            text = f"[green]agent call{tries} ok[/]{ms}"
        else:
            text = f"[red]agent call{tries} failed[/]{ms}: {escape(str(d.get('error', '')))}"
    elif kind == "reply.queued":
        route = str(d.get("route", ""))
        colour = {"agent": "green", "fallback": "red"}.get(route, "yellow")
        text = f"reply queued by [{colour}]{escape(route)}[/] for {escape(str(d.get('phone')))}"
        text += f" in {d.get('duration_ms')} ms"
    elif kind.startswith("outbox."):
        colour = {"outbox.sent": "green", "outbox.failed": "red"}.get(kind, "yellow")
        err = f": {escape(str(d['error']))}" if d.get("error") else ""
        text = f"[{colour}]{kind}[/] #{d.get('outbox_id')} try {d.get('attempt')}{ms}{err}"
    elif kind == "whatsapp.read":
        tries = f" after {d.get('attempts')} tries" if d.get("attempts", 1) > 1 else ""
        if d.get("ok"):
            text = f"[green]marked read, typing…[/] {escape(str(d.get('phone')))}{tries}"
        else:
            err = escape(str(d.get("error", "")))
            text = f"[yellow]read receipt failed[/] {escape(str(d.get('phone')))}{tries}: {err}"
    elif kind == "webhook.status":
        text = f"status [b]{escape(str(d.get('status')))}[/] recorded"
    elif kind == "webhook.message":
        dup = " [yellow](duplicate, ignored)[/]" if d.get("duplicate") else ""
        text = (
            f"webhook message {escape(str(d.get('type')))} from {escape(str(d.get('phone')))}{dup}"
        )
    else:
        text = escape(f"{kind} {d}")
    return f"[dim]{when}[/] [b]delivery[/] {text}"


class EventLog(RichLog):
    """Shows new webhook deliveries as they happen, and updates on retries."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=True, wrap=False, max_lines=500, **kwargs)
        # Keys: a delivery's id (mock webhook deliveries), ("mock", seq), ("delivery", id).
        self.shown: dict[object, str] = {}

    def show_events(self, events: list[dict[str, Any]]) -> int:
        """Write events not shown yet; returns the last sequence number seen."""
        last = 0
        for event in events:
            seq = int(event.get("seq", 0))
            last = max(last, seq)
            if ("mock", seq) not in self.shown:
                line = self.shown["mock", seq] = describe_event(event)
                self.write(line)
        return last

    def show_delivery_events(self, events: list[dict[str, Any]]) -> int:
        """Write delivery's events not shown yet; returns the last id seen."""
        last = 0
        for event in events:
            ident = int(event.get("id", 0))
            last = max(last, ident)
            if ("delivery", ident) not in self.shown:
                line = self.shown["delivery", ident] = describe_delivery_event(event)
                self.write(line)
        return last

    def note(self, line: str) -> None:
        """A line of the simulator's own (a scenario's progress)."""
        self.write(line)

    def show(self, deliveries: list[dict[str, Any]]) -> None:
        for delivery in deliveries:
            line = describe(delivery)
            if self.shown.get(delivery["id"]) != line:
                self.shown[delivery["id"]] = line
                self.write(line)
