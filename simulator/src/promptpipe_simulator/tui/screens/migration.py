"""The migration screen (docs/migration.md): the rollout's percentage and status, each
arm's turns, errors and latency, the shadow's agreement (overall and per sub-state), the
most frequent kinds of difference, and the latest comparisons, the primary's reply beside
the candidate's. It reads delivery's report every second; its keys are the migration's
controls (the same as on the main screen) and Esc or F11 to go back."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.markup import escape
from rich.table import Table
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from promptpipe_simulator.core.clients import StackError
from promptpipe_simulator.core.migration import MigrationClient, MigrationReport
from promptpipe_simulator.tui.keys import MIGRATION_CONTROLS, TIME_JUMPS
from promptpipe_simulator.tui.stack_time import StackClock

STATUS_STYLE = {
    "progressing": "bold yellow",
    "succeeded": "bold green",
    "promoted": "bold green",
    "halted": "bold red",
    "rolled_back": "bold red",
    "idle": "dim",
}


def headline(r: MigrationReport, clock: StackClock) -> str:
    """The rollout in one line."""
    if not r.candidate_configured:
        return "[b]No candidate agent[/]: start the stack with ./scripts/up --candidate"
    style = STATUS_STYLE.get(r.status, "")
    line = (
        f"[b]Candidate {r.percent} %[/]   [{style}]{r.status.replace('_', ' ')}[/]"
        f"   shadow [b]{'on' if r.shadow else 'off'}[/]"
    )
    if r.status == "progressing":
        line += f"   step {r.step} %, next at {clock.time_of_day(r.next_step_at) or '?'}"
    if r.reason:
        line += f"\n[dim]{escape(r.reason)}[/]"
    return line


def arms_table(r: MigrationReport) -> Table:
    table = Table(title="Arms (turns since delivery started)", expand=True, title_justify="left")
    for column in ("arm", "turns", "errors", "error rate", "p50", "p99", "Done"):
        table.add_column(column, justify="left" if column == "arm" else "right")
    for arm in ("primary", "candidate"):
        f = r.arms.get(arm)
        if f is None:
            continue
        rate = f"{f.error_rate * 100:.0f} %"
        if f.error_rate > 0.05:
            rate = f"[red]{rate}[/]"
        # engagement: the share of the arm's daily prompts its participants answered Done
        done = r.done_ratio.get(arm)
        table.add_row(
            arm,
            str(f.requests),
            str(f.errors),
            rate,
            f"{f.p50_ms:.0f} ms",
            f"{f.p99_ms:.0f} ms",
            "-" if done is None else f"{done * 100:.0f} %",
        )
    return table


def agreement_text(r: MigrationReport) -> str:
    if not r.compared:
        return "[b]Agreement[/]  nothing compared yet (shadow mode: alt+s)"
    states = "   ".join(
        f"{state} {agreed}/{compared}" for state, (agreed, compared) in sorted(r.by_state.items())
    )
    kinds = ", ".join(f"{kind} {n}" for kind, n in r.differences[:5]) or "none"
    return (
        f"[b]Agreement[/]  {r.agreement * 100:.0f} % of {r.compared} shadow turns   {states}\n"
        f"[b]Differences[/]  {kinds}"
    )


def differences_table(r: MigrationReport, rows: int = 6) -> Table:
    table = Table(
        title="Latest shadow turns: the primary's reply beside the candidate's",
        expand=True,
        title_justify="left",
        show_lines=True,
    )
    table.add_column("turn", ratio=1)
    table.add_column("primary said", ratio=3)
    table.add_column("candidate would have said", ratio=3)
    for c in r.latest[:rows]:
        verdict = {"agree": "[green]agree[/]", "error": "[red]error[/]"}.get(
            c.outcome,
            f"[yellow]{', '.join(c.kinds) or 'differ'}[/] [dim]text {c.similarity * 100:.0f} %[/]",
        )
        candidate = c.candidate or f"[red]{escape(c.candidate_error)}[/]"
        table.add_row(
            f"{escape(c.input[:24])}\n[dim]{c.sub_state}[/] {verdict}",
            escape(c.primary),
            candidate if c.candidate_error else escape(candidate),
        )
    return table


def events_text(r: MigrationReport, clock: StackClock, rows: int = 5) -> str:
    lines = [
        f"{clock.day_and_time(e.at)}  {e.kind:<11} {e.percent:>3} %  [dim]{escape(e.reason)}[/]"
        for e in r.events[:rows]
    ]
    return "[b]Rollout events[/]\n" + ("\n".join(lines) or "[dim]none yet[/]")


class MigrationKeys(Screen[None]):
    """The migration's controls and the clock's jumps on a screen of their own (the app's
    keys act on the main screen only): the same bindings, shown in the footer, calling the
    app's own methods (tui/migration.py), then `after_control`."""

    BINDINGS = [
        # The same keys as on the main screen, shown in this screen's footer.
        *(replace(b, show=True) for b in MIGRATION_CONTROLS),
        *TIME_JUMPS,  # to watch a rollout step on
    ]

    def after_control(self) -> None:
        """Show the effect of a control at once (screens that can)."""

    async def _control(self, name: str) -> None:
        app: Any = self.app
        await getattr(app, name)()
        self.after_control()

    def action_advance(self, duration: str) -> None:
        app: Any = self.app
        app.action_advance(duration)  # the app's own clock jump, a worker of its own

    @work(group="migration")
    async def action_start_rollout(self) -> None:
        await self._control("start_rollout")

    @work(group="migration")
    async def action_promote(self) -> None:
        await self._control("promote")

    @work(group="migration")
    async def action_rollback(self) -> None:
        await self._control("rollback")

    @work(group="migration")
    async def action_toggle_shadow(self) -> None:
        await self._control("toggle_shadow")

    @work(group="migration")
    async def action_candidate_fault(self) -> None:
        await self._control("candidate_fault")


class MigrationScreen(MigrationKeys):
    """The migration at a glance, refreshed every second."""

    BINDINGS = [Binding("escape,f11", "app.pop_screen", "Back", tooltip="Back to the chat")]
    CSS_PATH = "migration.tcss"

    def __init__(self, client: MigrationClient, clock: StackClock) -> None:
        super().__init__()
        self.client = client
        self.clock = clock
        self.report: MigrationReport | None = None

    def compose(self) -> ComposeResult:
        yield Header(icon="≡")
        with VerticalScroll(id="migration"):
            yield Static("reading delivery's migration report…", id="headline")
            with Horizontal(id="figures"):
                yield Static(id="arms")
                yield Static(id="events")
            yield Static(id="agreement")
            yield Static(id="differences")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Migration"
        self.refresh_report()
        self.set_interval(1.0, self.refresh_report)

    def after_control(self) -> None:
        self.refresh_report()

    @work(exclusive=True, group="migration-report")
    async def refresh_report(self) -> None:
        try:
            report = await self.client.report()
        except StackError as exc:
            self.query_one("#headline", Static).update(f"[red]{escape(str(exc))}[/]")
            return
        self.show(report)

    def show(self, report: MigrationReport) -> None:
        self.report = report
        self.query_one("#headline", Static).update(headline(report, self.clock))
        self.query_one("#arms", Static).update(arms_table(report))
        self.query_one("#events", Static).update(events_text(report, self.clock))
        self.query_one("#agreement", Static).update(agreement_text(report))
        self.query_one("#differences", Static).update(differences_table(report))
