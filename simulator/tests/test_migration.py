"""The migration screen, the dashboard and their core (docs/migration.md,
docs/monitoring.md), against a fake delivery's /dev/migration routes and /metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from rich.console import Console
from textual.widgets import ListView, Sparkline, Static

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.dashboard import History, MetricsReader, quantile
from promptpipe_simulator.core.migration import MigrationClient, MigrationReport
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.settings import Settings
from promptpipe_simulator.tui.app import SimulatorApp
from promptpipe_simulator.tui.screens.dashboard import DashboardScreen
from promptpipe_simulator.tui.screens.migration import (
    MigrationScreen,
    arms_table,
    differences_table,
)
from promptpipe_simulator.tui.widgets.roster import ParticipantItem


async def until(pilot: Any, condition: Callable[[], object], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached in time")


def comparison(n: int, outcome: str = "differ") -> dict[str, Any]:
    return {
        "id": n,
        "participant_id": "p_1",
        "turn": "message",
        "input": "personalize",
        "sub_state": "INTAKE",
        "primary": {"response": "Let's make it yours. What should your habit be about?"},
        "candidate": {"response": "What should your habit be about?"},
        "similarity": 0.7,
        "differences": [{"kind": "text", "primary": "a", "candidate": "b"}],
        "outcome": outcome,
    }


@dataclass
class FakeMigration:
    """delivery's /dev/migration routes, the candidate's fault switch and /metrics."""

    percent: int = 0
    status: str = "idle"
    shadow: bool = False
    fault: str = "ok"
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    metrics: str = ""
    prometheus: bool = False

    def report(self, participants: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "candidate_configured": True,
            "rollout": {
                "percent": self.percent,
                "status": self.status,
                "shadow": self.shadow,
                "reason": "",
                "plan": {"step": 25},
                "next_step_at": "2026-01-01T13:00:00Z",
            },
            "arms": {
                "primary": {
                    "requests": 4,
                    "errors": 0,
                    "error_rate": 0,
                    "p50_ms": 12,
                    "p99_ms": 40,
                },
                "candidate": {
                    "requests": 2,
                    "errors": 1,
                    "error_rate": 0.5,
                    "p50_ms": 20,
                    "p99_ms": 90,
                },
            },
            "shadow": {
                "enabled": self.shadow,
                "agreement": {"compared": 2, "agreed": 1, "rate": 0.5},
                "by_state": {"INTAKE": {"compared": 2, "agreed": 1, "rate": 0.5}},
                "outcomes": {"agree": 1, "differ": 1},
                "differences": [{"kind": "text", "count": 1, "examples": []}],
                "latest": [comparison(2), comparison(1, "agree")],
            },
            "participants": [
                {"id": p["id"], "bucket": 3, "arm": "candidate"} for p in participants
            ],
            "events": [
                {
                    "id": 1,
                    "at": "2026-01-01T12:00:00Z",
                    "kind": "started",
                    "percent": 25,
                    "detail": {},
                }
            ],
            "engagement": {"primary": {"done_ratio": 0.5}},
        }

    def handle(
        self,
        request: httpx.Request,
        fallback: Callable[[httpx.Request], httpx.Response],
        participants: list[dict[str, Any]],
    ) -> httpx.Response:
        path, method = request.url.path, request.method
        body = json.loads(request.content) if request.content else None
        if request.url.port == 9090:
            if not self.prometheus:
                raise httpx.ConnectError("refused", request=request)
            return httpx.Response(
                200,
                json={
                    "status": "success",
                    "data": {
                        "result": [
                            {"metric": {"arm": "primary", "state": "INTAKE"}, "value": [0, "2"]}
                        ]
                    },
                },
            )
        if path.startswith("/dev/migration") or path == "/dev/faults/agent/candidate":
            self.calls.append((method, path, body))
        if path == "/dev/migration":
            return httpx.Response(200, json={"status": "ok", "result": self.report(participants)})
        if path == "/dev/migration/rollout":
            self.percent, self.status = 25, "progressing"
        elif path == "/dev/migration/promote":
            self.percent, self.status = 100, "promoted"
        elif path == "/dev/migration/rollback":
            self.percent, self.status = 0, "rolled_back"
        elif path == "/dev/migration/shadow":
            self.shadow = body["enabled"]
        elif path == "/dev/faults/agent/candidate":
            if method == "PUT":
                self.fault = body["mode"]
            return httpx.Response(200, json={"status": "ok", "result": {"mode": self.fault}})
        elif path == "/metrics" and request.url.port == 8080:
            return httpx.Response(200, text=self.metrics)
        elif path == "/metrics":
            return httpx.Response(200, text='agent_conversations{state="INTAKE"} 3\n')
        else:
            return fallback(request)
        return httpx.Response(200, json={"status": "ok", "result": {"percent": self.percent}})


@pytest.fixture
def migration() -> FakeMigration:
    return FakeMigration()


@pytest.fixture
def backend_with_migration(fake_stack: Any, migration: FakeMigration) -> Backend:
    def handle(request: httpx.Request) -> httpx.Response:
        return migration.handle(request, fake_stack.handle, fake_stack.participants)

    return Backend(Settings(), transport=httpx.MockTransport(handle))


def app_for(backend: Backend) -> SimulatorApp:
    return SimulatorApp(backend, poll_seconds=0.05, personas=PersonaFactory(seed=1))


async def test_the_report_reads_delivery_s_shape(migration: FakeMigration) -> None:
    report = MigrationReport.from_api(migration.report([{"id": "p_1"}]))
    assert (report.percent, report.status, report.compared, report.agreement) == (0, "idle", 2, 0.5)
    assert report.arms["candidate"].error_rate == 0.5
    assert report.by_state == {"INTAKE": (1, 2)}
    assert report.latest[0].kinds == ["text"] and report.latest[0].candidate.startswith("What")
    assert report.arm_of == {"p_1": "candidate"}
    assert report.events[0].kind == "started"


def test_the_tables_show_each_arm_s_engagement_and_the_text_similarity(
    migration: FakeMigration,
) -> None:
    report = MigrationReport.from_api(migration.report([]))
    console = Console(width=200, record=True)
    console.print(arms_table(report))
    console.print(differences_table(report))
    lines = console.export_text().splitlines()
    primary = next(line for line in lines if "primary" in line and "ms" in line)
    candidate = next(line for line in lines if "candidate" in line and "ms" in line)
    assert primary.rstrip(" │").endswith("50 %")  # Done per daily prompt
    assert candidate.rstrip(" │").endswith("-")  # no prompts answered yet: no figure
    assert any("text 70 %" in line for line in lines)


async def test_the_controls_call_delivery_s_routes(migration: FakeMigration) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return migration.handle(request, lambda r: httpx.Response(404), [])

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
        client = MigrationClient(http, "http://127.0.0.1:8080", "tok")
        assert await client.start_rollout() == 25
        await client.set_shadow(True)
        await client.promote()
        await client.rollback()
        await client.set_candidate_fault("down")
    assert [(m, p) for m, p, _ in migration.calls] == [
        ("POST", "/dev/migration/rollout"),
        ("PUT", "/dev/migration/shadow"),
        ("POST", "/dev/migration/promote"),
        ("POST", "/dev/migration/rollback"),
        ("PUT", "/dev/faults/agent/candidate"),
    ]
    assert migration.calls[0][2] == {"step": 25, "interval": "1h", "max": 100}
    assert migration.fault == "down"


def test_quantile_is_prometheus_s() -> None:
    buckets = [(0.1, 50.0), (0.2, 90.0), (0.4, 100.0), (float("inf"), 100.0)]
    assert quantile(0.5, buckets) == pytest.approx(0.1)
    assert quantile(0.99, buckets) == pytest.approx(0.38)
    assert quantile(0.5, [(0.1, 0.0), (float("inf"), 0.0)]) is None


METRICS_BEFORE = """
delivery_agent_arm_requests_total{arm="primary",status="success"} 10
delivery_agent_arm_requests_total{arm="candidate",status="success"} 2
delivery_agent_arm_request_duration_seconds_bucket{arm="primary",le="0.1"} 10
delivery_agent_arm_request_duration_seconds_bucket{arm="primary",le="0.2"} 10
delivery_agent_arm_request_duration_seconds_bucket{arm="primary",le="+Inf"} 10
delivery_rollout_percent 25
"""
METRICS_AFTER = """
delivery_agent_arm_requests_total{arm="primary",status="success"} 20
delivery_agent_arm_requests_total{arm="candidate",status="success"} 3
delivery_agent_arm_requests_total{arm="candidate",status="error"} 1
delivery_agent_arm_request_duration_seconds_bucket{arm="primary",le="0.1"} 15
delivery_agent_arm_request_duration_seconds_bucket{arm="primary",le="0.2"} 20
delivery_agent_arm_request_duration_seconds_bucket{arm="primary",le="+Inf"} 20
delivery_rollout_percent 50
delivery_shadow_comparisons_total{outcome="agree"} 3
delivery_shadow_comparisons_total{outcome="differ"} 1
delivery_daily_prompts_total{arm="primary"} 4
delivery_participant_answers_total{arm="primary",answer="done"} 3
"""


async def test_without_prometheus_the_figures_come_from_two_scrapes(
    migration: FakeMigration,
) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return migration.handle(request, lambda r: httpx.Response(404), [])

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
        reader = MetricsReader(
            http, "http://127.0.0.1:8080", "http://127.0.0.1:8001", "http://127.0.0.1:9090"
        )
        migration.metrics = METRICS_BEFORE
        first = await reader.sample()
        migration.metrics = METRICS_AFTER
        second = await reader.sample()
    assert first.source == second.source == "metrics"
    assert second.percent == 50
    assert second.error_rate == {"primary": 0.0, "candidate": 0.5}
    assert second.p99_ms["primary"] == pytest.approx(198, abs=1)  # of the 10 new turns
    assert second.turns_per_second["primary"] > 0
    assert second.agreement == 0.75
    assert second.done_per_prompt["primary"] == 0.75
    assert second.states["INTAKE"] == 3


async def test_prometheus_is_preferred_when_it_answers(migration: FakeMigration) -> None:
    migration.prometheus = True

    def handle(request: httpx.Request) -> httpx.Response:
        return migration.handle(request, lambda r: httpx.Response(404), [])

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
        sample = await MetricsReader(
            http, "http://127.0.0.1:8080", "http://127.0.0.1:8001", "http://127.0.0.1:9090"
        ).sample()
    assert sample.source == "prometheus"
    assert sample.turns_per_second["primary"] == 2


def test_history_keeps_the_latest_points() -> None:
    history = History(size=3)
    for n in range(5):
        history.add(parse_sample(n))
    assert history.values("percent") == [2.0, 3.0, 4.0]


def parse_sample(n: int) -> Any:
    from promptpipe_simulator.core.dashboard import Sample

    return Sample(source="metrics", percent=float(n))


async def test_the_migration_screen_shows_the_rollout_and_drives_it(
    backend_with_migration: Backend, migration: FakeMigration
) -> None:
    app = app_for(backend_with_migration)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+n")
        await until(pilot, lambda: len(app.query(ParticipantItem)) == 1)
        # The sidebar says which agent serves them.
        await until(pilot, lambda: "candidate" in app.query_one(ParticipantItem).markup)
        await pilot.press("f11")
        await until(pilot, lambda: isinstance(app.screen, MigrationScreen))
        screen = app.screen
        assert isinstance(screen, MigrationScreen)
        await until(pilot, lambda: screen.report is not None)
        headline = str(screen.query_one("#headline", Static).render())
        assert "Candidate 0 %" in headline and "idle" in headline
        await pilot.press("alt+r")
        await until(pilot, lambda: screen.report is not None and screen.report.percent == 25)
        await pilot.press("alt+s")
        await until(pilot, lambda: migration.shadow)
        await pilot.press("alt+k")
        await until(pilot, lambda: migration.fault == "down")
        await pilot.press("alt+b")
        await until(pilot, lambda: migration.status == "rolled_back")
        # Letters type nothing here and change nothing.
        calls = len(migration.calls)
        await pilot.press("r", "p", "b")
        await pilot.pause(0.2)
        assert all(path == "/dev/migration" for _, path, _ in migration.calls[calls:])
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, MigrationScreen))


async def test_the_main_screen_has_the_controls_too(
    backend_with_migration: Backend, migration: FakeMigration
) -> None:
    app = app_for(backend_with_migration)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("alt+p")
        await until(pilot, lambda: migration.status == "promoted")
        assert app.query_one("#participants", ListView) is not None


async def test_the_dashboard_draws_sparklines(
    backend_with_migration: Backend, migration: FakeMigration
) -> None:
    migration.metrics = METRICS_AFTER
    app = app_for(backend_with_migration)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f12")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await until(pilot, lambda: screen.history.last is not None)
        assert len(screen.query(Sparkline)) == 10
        title = str(screen.query_one("#title-percent", Static).render())
        assert "50 %" in title
        source = str(screen.query_one("#source", Static).render())
        assert "/metrics" in source and "primary 75%" in source
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DashboardScreen))
