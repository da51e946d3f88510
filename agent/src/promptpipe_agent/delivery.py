"""The agent's client of delivery's API: delivery owns every timer, the agent asks for them."""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from promptpipe_agent.errors import Unavailable


class Scheduler(Protocol):
    """What the coach needs from delivery: daily schedules and one-shot events."""

    async def list_daily(self, participant_id: str) -> list[dict[str, Any]]: ...

    async def create_daily(
        self, participant_id: str, kind: str, local_time: str, timezone: str | None = None
    ) -> dict[str, Any]: ...

    async def delete_daily(self, participant_id: str, schedule_id: str) -> bool: ...

    async def schedule_event(
        self,
        participant_id: str,
        kind: str,
        delay_seconds: float,
        dedupe_key: str,
        payload: dict[str, Any] | None = None,
    ) -> dict[str, Any]: ...

    async def cancel_event(self, participant_id: str, event_id: str) -> None: ...

    async def set_status(self, participant_id: str, status: str) -> None: ...


class SchedulingRefused(Exception):
    """delivery answered 4xx to a request it understood (bad time, unknown timezone): the
    model gets the reason and may correct itself; retrying the same request would not help."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class DeliveryScheduler:
    """Scheduler over delivery's HTTP API. Network failures and 5xx raise Unavailable, so the
    turn rolls back and delivery retries it; every request is safe to repeat (see each)."""

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
        if resp.status_code >= 500 or resp.status_code in (401, 403, 429):
            raise Unavailable(f"Delivery refused a scheduling request ({resp.status_code}).")
        body = dict(resp.json()) if resp.content else {}
        if resp.status_code >= 400 and resp.status_code != 404:
            raise SchedulingRefused(resp.status_code, str(body.get("message", "refused")))
        body["_status"] = resp.status_code
        return body

    async def list_daily(self, participant_id: str) -> list[dict[str, Any]]:
        """The participant's pending daily schedules (none for an unknown participant)."""
        base = f"/conversation/participants/{participant_id}/schedules"
        return [dict(job) for job in (await self._call("GET", base)).get("result") or []]

    async def create_daily(
        self, participant_id: str, kind: str, local_time: str, timezone: str | None = None
    ) -> dict[str, Any]:
        """A new daily schedule of `kind` at `local_time`; without `timezone` delivery uses
        the participant's. (The scheduler tool reuses an identical one instead.)"""
        base = f"/conversation/participants/{participant_id}/schedules"
        body: dict[str, Any] = {"kind": kind, "local_time": local_time}
        if timezone:
            body["timezone"] = timezone
        created = await self._call("POST", base, json=body)
        if created["_status"] == 404:
            raise SchedulingRefused(404, "delivery does not know this participant")
        return dict(created["result"])

    async def delete_daily(self, participant_id: str, schedule_id: str) -> bool:
        """Cancel a daily schedule; False if delivery has no such pending schedule."""
        path = f"/conversation/participants/{participant_id}/schedules/{schedule_id}"
        return bool((await self._call("DELETE", path))["_status"] < 400)

    async def schedule_event(
        self,
        participant_id: str,
        kind: str,
        delay_seconds: float,
        dedupe_key: str,
        payload: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A one-shot event; the dedupe key makes a repeated request return the first."""
        body = {
            "kind": kind,
            "delay_seconds": delay_seconds,
            "dedupe_key": dedupe_key,
            "payload": payload or {},
        }
        resp = await self._call(
            "POST", f"/conversation/participants/{participant_id}/events", json=body
        )
        if resp["_status"] == 404:
            raise SchedulingRefused(404, "delivery does not know this participant")
        return dict(resp["result"])

    async def cancel_event(self, participant_id: str, event_id: str) -> None:
        """Cancel an event; one already fired or canceled (404) is fine."""
        await self._call("DELETE", f"/conversation/participants/{participant_id}/events/{event_id}")

    async def set_status(self, participant_id: str, status: str) -> None:
        """The participant's status at delivery: "paused" stops their prompts and hands their
        messages to no one (delivery acknowledges them) until someone sets "active" again.
        Setting the same status twice is harmless."""
        resp = await self._call(
            "PUT", f"/conversation/participants/{participant_id}", json={"status": status}
        )
        if resp["_status"] == 404:
            raise SchedulingRefused(404, "delivery does not know this participant")

    async def close(self) -> None:
        await self.http.aclose()
