"""Reading a phone's chat as the steps need it: the coach's messages after a point, and a
message shown on one line for a step's report."""

from __future__ import annotations

from promptpipe_simulator.core.clients import ChatMessage


def outbound_after(chat: list[ChatMessage], cursor: int) -> list[tuple[int, ChatMessage]]:
    """The coach's messages from index `cursor` on, with their indexes."""
    return [(i, m) for i, m in enumerate(chat) if i >= cursor and m.direction == "outbound"]


def last_outbound(chat: list[ChatMessage]) -> ChatMessage | None:
    outbound = [m for m in chat if m.direction == "outbound"]
    return outbound[-1] if outbound else None


def show(message: ChatMessage) -> str:
    """A message on one line: its text, shortened, and what it offers."""
    text = message.text if len(message.text) <= 90 else message.text[:87] + "…"
    extra = ""
    if message.buttons:
        extra = f" buttons {[b['title'] for b in message.buttons]}"
    elif message.rows:
        extra = f" rows {[r['title'] for r in message.rows]}"
    elif message.template:
        extra = f" template {message.template.get('name')} {message.template.get('parameters')}"
    kind = "" if message.type == "text" else f"[{message.type}] "
    return f"{kind}{text!r}{extra}"
