"""delivery's migration between two agents as the simulator reads and drives it
(docs/migration.md): the report of `GET /dev/migration`, and the rollout's controls
(start, promote, roll back), the shadow switch and the candidate's fault switch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from promptpipe_simulator.core.clients import DeliveryClient, StackError, _call


@dataclass
class ArmFigures:
    """One arm's turns since delivery started."""

    requests: int = 0
    errors: int = 0
    error_rate: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ArmFigures:
        return cls(
            requests=int(data.get("requests", 0)),
            errors=int(data.get("errors", 0)),
            error_rate=float(data.get("error_rate", 0)),
            p50_ms=float(data.get("p50_ms", 0)),
            p99_ms=float(data.get("p99_ms", 0)),
        )


@dataclass
class Comparison:
    """One shadowed turn: what each agent said and how they differ."""

    id: int
    participant_id: str
    turn: str
    input: str
    sub_state: str
    outcome: str
    similarity: float
    primary: str
    candidate: str
    candidate_error: str
    kinds: list[str]  # differences beyond noise

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Comparison:
        return cls(
            id=int(data["id"]),
            participant_id=str(data.get("participant_id", "")),
            turn=str(data.get("turn", "")),
            input=str(data.get("input", "")),
            sub_state=str(data.get("sub_state", "")),
            outcome=str(data.get("outcome", "")),
            similarity=float(data.get("similarity", 0)),
            primary=str(data.get("primary", {}).get("response", "")),
            candidate=str(data.get("candidate", {}).get("response", "")),
            candidate_error=str(data.get("candidate", {}).get("error", "")),
            kinds=[d["kind"] for d in data.get("differences") or [] if not d.get("noise")],
        )


@dataclass
class RolloutEvent:
    at: str
    kind: str
    percent: int
    reason: str = ""


@dataclass
class MigrationReport:
    """GET /dev/migration, in the shape the screens show."""

    candidate_configured: bool
    percent: int
    status: str
    shadow: bool
    reason: str = ""
    step: int = 0
    next_step_at: str = ""
    arms: dict[str, ArmFigures] = field(default_factory=dict)
    compared: int = 0
    agreement: float = 0.0
    by_state: dict[str, tuple[int, int]] = field(default_factory=dict)  # agreed, compared
    differences: list[tuple[str, int]] = field(default_factory=list)  # kind, count
    latest: list[Comparison] = field(default_factory=list)
    arm_of: dict[str, str] = field(default_factory=dict)  # participant id -> arm
    events: list[RolloutEvent] = field(default_factory=list)
    done_ratio: dict[str, float] = field(default_factory=dict)  # arm -> Done per prompt

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> MigrationReport:
        rollout = data.get("rollout") or {}
        shadow = data.get("shadow") or {}
        agreement = shadow.get("agreement") or {}
        return cls(
            candidate_configured=bool(data.get("candidate_configured")),
            percent=int(rollout.get("percent", 0)),
            status=str(rollout.get("status", "idle")),
            shadow=bool(rollout.get("shadow")),
            reason=str(rollout.get("reason") or ""),
            step=int((rollout.get("plan") or {}).get("step") or 0),
            next_step_at=str(rollout.get("next_step_at") or ""),
            arms={arm: ArmFigures.from_api(f) for arm, f in (data.get("arms") or {}).items()},
            compared=int(agreement.get("compared", 0)),
            agreement=float(agreement.get("rate", 0)),
            by_state={
                state: (int(a.get("agreed", 0)), int(a.get("compared", 0)))
                for state, a in (shadow.get("by_state") or {}).items()
            },
            differences=[(d["kind"], int(d["count"])) for d in shadow.get("differences") or []],
            latest=[Comparison.from_api(c) for c in shadow.get("latest") or []],
            arm_of={p["id"]: p["arm"] for p in data.get("participants") or []},
            events=[
                RolloutEvent(
                    at=str(e.get("at", "")),
                    kind=str(e.get("kind", "")),
                    percent=int(e.get("percent", 0)),
                    reason=str((e.get("detail") or {}).get("reason", "")),
                )
                for e in data.get("events") or []
            ],
            done_ratio={
                arm: float(e.get("done_ratio", 0))
                for arm, e in (data.get("engagement") or {}).items()
            },
        )


# The rollout the simulator starts: quick steps on the virtual clock, so that a few
# jumps of +1h (F7) run it; the thresholds are delivery's defaults.
DEFAULT_ROLLOUT: dict[str, Any] = {"step": 25, "interval": "1h", "max": 100}


class MigrationClient:
    """delivery's /dev/migration routes and the candidate's fault switch."""

    def __init__(self, client: httpx.AsyncClient, delivery_url: str, token: str = "") -> None:
        self.client, self.base = client, delivery_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    @classmethod
    def beside(cls, delivery: DeliveryClient) -> MigrationClient:
        """The client of the same delivery, with the same token."""
        client = cls(delivery.client, delivery.base)
        client.headers = dict(delivery.headers)
        return client

    async def arms(self) -> dict[str, str]:
        """Each participant's arm, when there is a candidate (else none): for the sidebar.
        A delivery without the routes, or away, gives none rather than failing."""
        try:
            report = await self.report()
        except StackError:
            return {}
        return report.arm_of if report.candidate_configured else {}

    async def _do(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        resp = await _call(
            self.client, "delivery", method, f"{self.base}{path}", json=body, headers=self.headers
        )
        return dict(resp.json().get("result") or {})

    async def report(self) -> MigrationReport:
        return MigrationReport.from_api(await self._do("GET", "/dev/migration"))

    async def start_rollout(self, plan: dict[str, Any] | None = None) -> int:
        """Start a rollout (DEFAULT_ROLLOUT unless told); returns the new percentage."""
        state = await self._do("POST", "/dev/migration/rollout", plan or DEFAULT_ROLLOUT)
        return int(state.get("percent", 0))

    async def promote(self) -> None:
        await self._do("POST", "/dev/migration/promote")

    async def rollback(self, reason: str = "rolled back from the simulator") -> None:
        await self._do("POST", "/dev/migration/rollback", {"reason": reason})

    async def set_shadow(self, enabled: bool) -> None:
        await self._do("PUT", "/dev/migration/shadow", {"enabled": enabled})

    async def candidate_fault(self) -> str:
        """The candidate's fault switch now: ok, down or slow."""
        return str((await self._do("GET", "/dev/faults/agent/candidate")).get("mode", "ok"))

    async def set_candidate_fault(self, mode: str) -> None:
        await self._do("PUT", "/dev/faults/agent/candidate", {"mode": mode})
