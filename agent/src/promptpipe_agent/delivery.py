"""The agent's client of delivery's API: delivery owns every timer, the agent asks for them."""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from promptpipe_agent.errors import Unavailable


class Scheduler(Protocol):
    """What the coach needs from delivery: daily schedules and one-shot events."""

    async def ensure_daily(
        self, participant_id: str, kind: str, local_time: str
    ) -> dict[str, Any]: ...

    async def schedule_event(
        self, participant_id: str, kind: str, delay_seconds: float, dedupe_key: str
    ) -> dict[str, Any]: ...

    async def cancel_event(self, participant_id: str, event_id: str) -> None: ...


class DeliveryScheduler:
    """Scheduler over delivery's HTTP API. Failures raise Unavailable, so the turn rolls
    back and delivery retries it; asking twice is harmless (see each method)."""

    def __init__(
        self, base_url: str, token: str = "", transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=5, transport=transport
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            resp = await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise Unavailable("Delivery's scheduling API is unreachable.") from exc
        if resp.status_code >= 400 and resp.status_code != 404:
            raise Unavailable(f"Delivery refused a scheduling request ({resp.status_code}).")
        return dict(resp.json()) if resp.content else {}

    async def ensure_daily(self, participant_id: str, kind: str, local_time: str) -> dict[str, Any]:
        """A daily schedule of `kind` at `local_time`, created only if not there already."""
        base = f"/conversation/participants/{participant_id}/schedules"
        existing = (await self._call("GET", base)).get("result") or []
        for job in existing:
            if job["kind"] == kind and job.get("local_time") == local_time:
                return dict(job)
        created = await self._call("POST", base, json={"kind": kind, "local_time": local_time})
        return dict(created["result"])

    async def schedule_event(
        self, participant_id: str, kind: str, delay_seconds: float, dedupe_key: str
    ) -> dict[str, Any]:
        """A one-shot event; the dedupe key makes a repeated request return the first."""
        body = {"kind": kind, "delay_seconds": delay_seconds, "dedupe_key": dedupe_key}
        resp = await self._call(
            "POST", f"/conversation/participants/{participant_id}/events", json=body
        )
        return dict(resp["result"])

    async def cancel_event(self, participant_id: str, event_id: str) -> None:
        """Cancel an event; one already fired or canceled (404) is fine."""
        await self._call("DELETE", f"/conversation/participants/{participant_id}/events/{event_id}")

    async def close(self) -> None:
        await self.http.aclose()
