"""Faults injected on purpose (errors, latency, broken webhooks) and the limits Meta
enforces (24-hour window, pair rate limit, throughput), each switchable at run time."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Fault:
    """One rule: on `target`, with `probability`, add latency and/or answer `error_code`
    (or, for webhooks, drop/duplicate/delay/mis-sign them); gone after `times` hits."""

    id: str
    target: str
    error_code: int | None = None
    probability: float = 1.0
    latency_ms: int = 0
    webhook: str | None = None
    delay_seconds: float = 0.0
    times: int | None = None
    hits: int = 0
    # "response": the error answers the request; "webhook": the send is accepted and the
    # error comes as a value.errors[] system webhook (system_errors.py).
    report: str = "response"

    def view(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Limits:
    """Meta's limits the mock enforces; each can be switched off to test around it."""

    window_24h: bool = True
    pair_rate_limit: bool = False
    throughput: bool = True

    def view(self) -> dict[str, bool]:
        return asdict(self)


@dataclass
class StatusQuirks:
    """Meta's status imperfections, each a probability per message: read at once (no
    `delivered`), `read` before `delivered`, a status webhook sent twice."""

    skip_delivered: float = 0.0
    out_of_order: float = 0.0
    duplicate: float = 0.0

    def view(self) -> dict[str, float]:
        return asdict(self)


class FaultBook:
    """The faults in force, in the order they were added."""

    def __init__(
        self,
        rng: random.Random | None = None,
        on_change: Callable[[str, dict[str, Any]], object] | None = None,
    ) -> None:
        self.faults: list[Fault] = []
        self.rng = rng or random.Random()
        # Told of every hit ("fault.injected") and every change of the book
        # ("fault.changed"), so the event stream can show faults at work.
        self.on_change = on_change or (lambda kind, data: None)

    def add(self, **fields: Any) -> Fault:
        fault = Fault(id="flt_" + secrets.token_hex(6), **fields)
        self.faults.append(fault)
        self._changed()
        return fault

    def remove(self, fault_id: str) -> bool:
        before = len(self.faults)
        self.faults = [f for f in self.faults if f.id != fault_id]
        removed = len(self.faults) != before
        if removed:
            self._changed()
        return removed

    def clear(self) -> None:
        self.faults.clear()
        self._changed()

    def _changed(self) -> None:
        self.on_change("fault.changed", {"faults": [f.view() for f in self.faults]})

    def fire(self, target: str) -> list[Fault]:
        """The faults of `target` that strike this time. At most one with an outcome (an
        error or a webhook action) strikes, the first added; latency-only faults add up.
        Each counts a hit, and one that has used up its `times` leaves the book."""
        fired: list[Fault] = []
        outcome = False
        for fault in list(self.faults):
            has_outcome = fault.error_code is not None or fault.webhook is not None
            if fault.target != target or (has_outcome and outcome):
                continue
            if self.rng.random() >= fault.probability:
                continue
            outcome = outcome or has_outcome
            fault.hits += 1
            fired.append(fault)
            self.on_change("fault.injected", fault.view())
            if fault.times is not None and fault.hits >= fault.times:
                self.remove(fault.id)
        return fired
