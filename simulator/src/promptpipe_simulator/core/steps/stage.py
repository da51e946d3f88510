"""What a scenario's steps act on: the stack, a way to restart its services, the people
in the scenario (`Actor`), and waiting for something to become true."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.clients import ChatMessage, Participant
from promptpipe_simulator.core.scenario import Step
from promptpipe_simulator.core.stack_control import StackController

T = TypeVar("T")


class StepFailed(Exception):
    """An expectation was not met or an action was refused; the message explains it."""


@dataclass
class Actor:
    """A scenario's participant at run time: their phone, and where in the chat we are."""

    alias: str
    phone: str
    timezone: str
    participant: Participant | None  # None: not enrolled (an unknown sender)
    cursor: int = 0  # chat messages before this index were already seen by a step
    last_reply: ChatMessage | None = None
    last_sent: ChatMessage | None = None

    def require_participant(self) -> Participant:
        if self.participant is None:
            raise StepFailed(f"{self.alias} is not enrolled, so delivery has nothing on them")
        return self.participant


@dataclass
class Stage:
    """The stack a run plays on, and what its steps changed there that the run undoes."""

    backend: Backend
    controller: StackController | None = None
    no_controller_reason: str = ""  # shown by steps that need a controller
    poll_seconds: float = 0.2
    # switched on by steps and left on: "agent", "whatsapp", "candidate", "shadow"
    faulted: set[str] = field(default_factory=set)

    async def poll(self, probe: Callable[[], Awaitable[T | None]], within: float) -> T | None:
        return await wait_until(probe, within, self.poll_seconds)

    def require_controller(self, step: Step) -> StackController:
        if self.controller is None:
            reason = self.no_controller_reason or "this run has none (`--stack none`)"
            raise StepFailed(f"`{step.action}` needs a stack controller: {reason}")
        return self.controller


# A step's action: it acts or checks, and returns what it saw (shown on success), or
# raises StepFailed saying why not.
Handler = Callable[[Step, Actor, Stage], Awaitable[str]]


async def wait_until(
    probe: Callable[[], Awaitable[T | None]], within: float, interval: float = 0.2
) -> T | None:
    """Call `probe` until it returns something truthy (returned) or `within` seconds
    pass (None)."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(interval)
