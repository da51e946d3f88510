"""Breaking the stack on purpose: delivery's calls to the agent slow or failing, WhatsApp
refusing sends or losing webhooks, and clearing it all again."""

from __future__ import annotations

from typing import Any

from textual import work

from promptpipe_simulator.core.clients import Refused, StackError
from promptpipe_simulator.tui.base import SimulatorBase

# What the WhatsApp fault switches ask of mock_whatsapp's faults API.
WHATSAPP_FAULTS: dict[str, dict[str, Any]] = {
    "errors": {"target": "messages", "error_code": 131000, "probability": 0.5},
    "webhooks": {"target": "webhooks", "webhook": "drop", "probability": 0.5},
}
WHATSAPP_WORDS = {"errors": "half the sends fail", "webhooks": "half the webhooks are lost"}
AGENT_WORDS = {"ok": "calls go through", "slow": "each call waits 5 s", "down": "calls fail"}


def fault_refusal(exc: StackError) -> str:
    """Why a fault was not set, in words: delivery's switch needs its dev routes."""
    if isinstance(exc, Refused) and exc.status == 404:
        return "delivery has no fault switch with DEV_CLOCK=false"
    return str(exc)


class FaultSwitches(SimulatorBase):
    @work(group="faults")
    async def action_agent_fault(self, mode: str = "") -> None:
        """Make delivery's calls to the agent fail or lag; without a mode, cycle
        ok → slow → down → ok."""
        mode = mode or {"ok": "slow", "slow": "down"}.get(self.agent_fault, "ok")
        try:
            await self.backend.set_agent_fault(mode, 5 if mode == "slow" else 0)
        except StackError as exc:
            self.notify(fault_refusal(exc), title="Fault not set", severity="error")
            return
        self.agent_fault = mode
        self.notify(f"Agent {mode}: {AGENT_WORDS[mode]}", title="Fault")

    @work(group="faults")
    async def action_whatsapp_fault(self, kind: str) -> None:
        """WhatsApp errors on half the sends, or half the webhooks lost."""
        try:
            await self.backend.add_whatsapp_fault(dict(WHATSAPP_FAULTS[kind]))
        except StackError as exc:
            self.notify(str(exc), title="Fault not set", severity="error")
            return
        self.notify(f"WhatsApp: {WHATSAPP_WORDS[kind]}", title="Fault")

    @work(group="faults")
    async def action_clear_faults(self) -> None:
        problems = []
        try:
            await self.backend.set_agent_fault("ok")
            self.agent_fault = "ok"
        except StackError as exc:
            problems.append(fault_refusal(exc))
        try:
            await self.backend.clear_whatsapp_faults()
        except StackError as exc:
            problems.append(str(exc))
        if problems:
            self.notify("; ".join(problems), title="Faults", severity="warning")
        else:
            self.notify("Agent OK, no WhatsApp faults", title="Faults cleared")
