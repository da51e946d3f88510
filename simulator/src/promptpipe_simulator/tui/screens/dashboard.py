"""The metrics dashboard (docs/monitoring.md): the key metrics as live sparklines, per arm,
with the rollout's percentage: turns per second, error rate, p99 latency, the shadow's
agreement, participants per sub-state, Done per daily prompt. It samples every two
seconds, from Prometheus when it runs, else from the services' /metrics."""

from __future__ import annotations

import httpx
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Footer, Header, Sparkline, Static

from promptpipe_simulator.core.dashboard import ARMS, STATES, History, MetricsReader, Sample
from promptpipe_simulator.tui.screens.migration import MigrationKeys

# Each chart: its series in History, its title, and how its latest value reads.
CHARTS: list[tuple[str, str, str]] = [
    ("percent", "Rollout: candidate's share", "{:.0f} %"),
    ("agreement", "Shadow agreement", "{:.0%}"),
    *[(f"turns.{arm}", f"Turns/s, {arm}", "{:.2f}/s") for arm in ARMS],
    *[(f"errors.{arm}", f"Error rate, {arm}", "{:.0%}") for arm in ARMS],
    *[(f"p99.{arm}", f"p99 latency, {arm}", "{:.0f} ms") for arm in ARMS],
    *[(f"state.{state}", f"Participants in {state}", "{:.0f}") for state in STATES],
]


def latest(sample: Sample, name: str) -> float | None:
    """A series' latest value in the sample (None: nothing to tell yet)."""
    kind, _, key = name.partition(".")
    if kind == "percent":
        return sample.percent
    if kind == "agreement":
        return sample.agreement
    if kind == "turns":
        return sample.turns_per_second.get(key)
    if kind == "errors":
        return sample.error_rate.get(key)
    if kind == "p99":
        return sample.p99_ms.get(key)
    return sample.states.get(key)


def satisfaction(sample: Sample) -> str:
    parts = []
    for arm in ARMS:
        value = sample.done_per_prompt.get(arm)
        parts.append(f"{arm} {'n/a' if value is None else f'{value:.0%}'}")
    return "Done per daily prompt: " + "   ".join(parts)


class DashboardScreen(MigrationKeys):
    """The key metrics as live charts; the migration's keys work here too."""

    BINDINGS = [Binding("escape,f12", "app.pop_screen", "Back", tooltip="Back to the chat")]
    CSS_PATH = "dashboard.tcss"

    def __init__(self, reader: MetricsReader, every: float = 2.0) -> None:
        super().__init__()
        self.reader = reader
        self.every = every
        self.history = History()

    def compose(self) -> ComposeResult:
        yield Header(icon="≡")
        yield Static("sampling…", id="source")
        with Grid(id="charts"):
            for name, title, _ in CHARTS:
                with Vertical(classes="chart"):
                    yield Static(title, classes="title", id=f"title-{name.replace('.', '-')}")
                    yield Sparkline([], id=f"chart-{name.replace('.', '-')}")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Dashboard"
        self.take_sample()
        self.set_interval(self.every, self.take_sample)

    @work(exclusive=True, group="dashboard")
    async def take_sample(self) -> None:
        try:
            sample = await self.reader.sample()
        except httpx.HTTPError as exc:
            self.query_one("#source", Static).update(
                f"[red]delivery's metrics are not reachable ({type(exc).__name__})[/]"
            )
            return
        self.show(sample)

    def show(self, sample: Sample) -> None:
        self.history.add(sample)
        where = "Prometheus" if sample.source == "prometheus" else "the services' /metrics"
        self.query_one("#source", Static).update(
            f"From {where}, every {self.every:.0f} s.   {satisfaction(sample)}"
        )
        for name, title, fmt in CHARTS:
            slug = name.replace(".", "-")
            value = latest(sample, name)
            shown = "n/a" if value is None else fmt.format(value)
            self.query_one(f"#title-{slug}", Static).update(f"{title}  [b]{shown}[/]")
            self.query_one(f"#chart-{slug}", Sparkline).data = self.history.values(name)
