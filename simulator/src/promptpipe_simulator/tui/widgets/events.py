"""The event log: what the fake WhatsApp did (its event stream when it has one, else its
webhook deliveries), and the lines of a scenario run, newest last."""

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
    return f"[dim]{when}[/] [{colour}]{escape(kind)}[/] {escape(details[:160])}"


class EventLog(RichLog):
    """Shows new webhook deliveries as they happen, and updates on retries."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=True, wrap=False, max_lines=500, **kwargs)
        self.shown: dict[int, str] = {}

    def show_events(self, events: list[dict[str, Any]]) -> int:
        """Write events not shown yet; returns the last sequence number seen."""
        last = 0
        for event in events:
            seq = int(event.get("seq", 0))
            last = max(last, seq)
            if -seq not in self.shown:  # negative keys: events; positive: deliveries
                self.shown[-seq] = ""
                self.write(describe_event(event))
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
