"""The migration between two agents from the simulator (docs/migration.md): its screen and
the metrics dashboard, and the controls: start a rollout, promote, roll back, shadow on
and off, break the candidate. The controls work from the main screen (keys.py) and from
the migration screen, which calls the same methods."""

from __future__ import annotations

from textual import work

from promptpipe_simulator.core.clients import StackError
from promptpipe_simulator.core.dashboard import MetricsReader
from promptpipe_simulator.core.migration import MigrationClient
from promptpipe_simulator.settings import Settings
from promptpipe_simulator.tui.base import SimulatorBase
from promptpipe_simulator.tui.faults import fault_refusal

CANDIDATE_FAULTS = {"ok": "down", "down": "ok"}


class MigrationActions(SimulatorBase):
    @property
    def migration(self) -> MigrationClient:
        return MigrationClient.beside(self.backend.delivery)

    def metrics_reader(self) -> MetricsReader:
        settings = Settings()
        return MetricsReader(
            self.backend.http,
            self.backend.delivery.base,
            settings.agent_url,
            settings.prometheus_url,
        )

    def action_migration(self) -> None:
        from promptpipe_simulator.tui.screens.migration import MigrationScreen

        self.push_screen(MigrationScreen(self.migration, self.clock))

    def action_dashboard(self) -> None:
        from promptpipe_simulator.tui.screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen(self.metrics_reader()))

    @work(group="migration")
    async def action_start_rollout(self) -> None:
        await self.start_rollout()

    @work(group="migration")
    async def action_promote(self) -> None:
        await self.promote()

    @work(group="migration")
    async def action_rollback(self) -> None:
        await self.rollback()

    @work(group="migration")
    async def action_toggle_shadow(self) -> None:
        await self.toggle_shadow()

    @work(group="migration")
    async def action_candidate_fault(self) -> None:
        await self.candidate_fault()

    async def start_rollout(self) -> None:
        try:
            percent = await self.migration.start_rollout()
        except StackError as exc:
            self.notify(str(exc), title="Rollout not started", severity="error")
            return
        self.notify(
            f"The candidate serves {percent} % now; each hour of the stack's clock (F7) "
            "takes the next step",
            title="Rollout started",
        )

    async def promote(self) -> None:
        try:
            await self.migration.promote()
        except StackError as exc:
            self.notify(str(exc), title="Not promoted", severity="error")
            return
        self.notify("The candidate serves every participant", title="Promoted")

    async def rollback(self) -> None:
        try:
            await self.migration.rollback()
        except StackError as exc:
            self.notify(str(exc), title="Not rolled back", severity="error")
            return
        self.notify("Every participant is back on the primary", title="Rolled back")

    async def toggle_shadow(self) -> None:
        try:
            shadow = not (await self.migration.report()).shadow
            await self.migration.set_shadow(shadow)
        except StackError as exc:
            self.notify(str(exc), title="Shadow not switched", severity="error")
            return
        words = "the candidate also answers each turn, saving nothing" if shadow else "off"
        self.notify(f"Shadow {words}", title="Shadow mode")

    async def candidate_fault(self) -> None:
        """Break the candidate (its calls fail), or mend it."""
        try:
            mode = CANDIDATE_FAULTS.get(await self.migration.candidate_fault(), "ok")
            await self.migration.set_candidate_fault(mode)
        except StackError as exc:
            self.notify(fault_refusal(exc), title="Fault not set", severity="error")
            return
        words = "its calls fail (a rollout rolls back)" if mode == "down" else "calls go through"
        self.notify(f"Candidate {mode}: {words}", title="Fault")
