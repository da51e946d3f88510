"""The stack's load test for Locust: simulated participants, their replies as statistics,
the final check of every chat, and a summary.

`simulator load` runs this file; so can Locust itself (`locust -f` this file, with any of
Locust's own options: web UI, `--processes`, `--master`, `--worker`). The participants'
options (`--personalize`, `--silent`, `--clock-every`...) are added to Locust's command
line and its web UI.

In every process that drives participants (Locust's one process, or each worker) a test
starts with a `LoadRun`: the mock's event stream is open before the first participant
speaks, and when the test stops, the run waits for replies on their way and checks every
chat. A master asks its workers to do that check and waits for their statistics before it
lets Locust quit, so the check's results are in the master's figures, its HTML report and
its summary. Time travel, when asked for, is one `ClockKeeper` on the master (or the single
process), never one per participant.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import (
    STATE_MISSING,
    STATE_RUNNING,
    STATE_SPAWNING,
    MasterRunner,
    WorkerRunner,
)
from locust.stats import RequestStats, StatsEntry

from promptpipe_simulator.core.load import LoadSummary
from promptpipe_simulator.core.load_run import (
    ClockKeeper,
    LoadRun,
    Report,
    add_options,
    mix_from,
)
from promptpipe_simulator.core.participant import Participant
from promptpipe_simulator.settings import Settings

__all__ = ["Participant"]  # the user class Locust finds in this file

log = logging.getLogger(__name__)
# One line per HTTP call (the final check reads every chat) would bury Locust's output.
logging.getLogger("httpx").setLevel(logging.WARNING)

CHECK = "promptpipe:check"  # master → worker: stop your participants, check their chats
CHECKED = "promptpipe:checked"  # worker → master: done, and the statistics are sent
# How long a master waits for its workers' checks beyond the reply wait.
CHECK_MARGIN_SECONDS = 60.0


class _Process:
    """This process's part of the current test (module state: Locust loads this file once
    per process)."""

    environment: Environment | None = None
    clock: ClockKeeper | None = None
    checked: set[str] = set()  # on a master: the workers that reported their check
    summary: LoadSummary | None = None


@events.init_command_line_parser.add_listener
def _add_options(parser: Any, **_: Any) -> None:
    add_options(parser)


@events.init.add_listener
def _init(environment: Environment, **_: Any) -> None:
    _Process.environment = environment
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.register_message(CHECK, _check_on_worker, concurrent=True)
    elif isinstance(runner, MasterRunner):
        runner.register_message(CHECKED, _checked_on_master)


@events.test_start.add_listener
def _test_start(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    report = _reporter(environment)
    if not isinstance(environment.runner, MasterRunner):
        run = LoadRun(Settings(), mix_from(options), report)
        run.start()
        Participant.current_run = run
    every = float(getattr(options, "clock_every", 0) or 0)
    if every > 0 and not isinstance(environment.runner, WorkerRunner):
        step = str(getattr(options, "clock_step", "12h"))
        _Process.clock = ClockKeeper(Settings(), every, step, report)
        _Process.clock.start()


@events.spawning_complete.add_listener
def _spawning_complete(**_: Any) -> None:
    environment = _Process.environment
    if environment is not None and not isinstance(environment.runner, WorkerRunner):
        gevent.spawn(_end_when_everyone_is_done, environment)


@events.test_stopping.add_listener
def _test_stopping(environment: Environment, **_: Any) -> None:
    _stop_clock()
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        _check_workers(runner, environment)


@events.test_stop.add_listener
def _test_stop(environment: Environment, **_: Any) -> None:
    _stop_clock()
    run, Participant.current_run = Participant.current_run, None
    if run is None:
        return
    try:
        run.check(cleanup=bool(getattr(environment.parsed_options, "cleanup", False)))
    finally:
        run.stop()


@events.quitting.add_listener
def _quitting(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if runner is None or isinstance(runner, WorkerRunner):
        return
    if runner.state in (STATE_RUNNING, STATE_SPAWNING):
        # Stopped by a signal or Ctrl+C, Locust quits without stopping the test first:
        # stop it here, so that the final check is done and in the figures.
        runner.stop()
    exceptions = len(runner.exceptions)
    summary = summarize(environment.stats, exceptions)
    _Process.summary = summary
    if not summary.ok:
        environment.process_exit_code = 1


@events.quit.add_listener
def _quit(**_: Any) -> None:
    # After Locust's own tables, so that the summary is what the terminal ends with.
    if _Process.summary is not None:
        print(_Process.summary.render(), flush=True)


def summarize(stats: RequestStats, exceptions: int = 0) -> LoadSummary:
    """The run's summary from Locust's statistics (a master's hold all its workers')."""
    replies = [e for (name, method), e in stats.entries.items() if method == "reply"]
    merged = StatsEntry(stats, "replies", "reply")
    for entry in replies:
        merged.extend(entry)

    def count(method: str, name: str) -> tuple[int, int]:
        entry = stats.entries.get((name, method))
        return (entry.num_requests, entry.num_failures) if entry else (0, 0)

    checked, _ = count("check", "chat")
    sent, send_failures = count("POST", "send")
    late, _ = count("check", "late reply")
    fallbacks = sum(
        e.num_requests for (_, method), e in stats.entries.items() if method == "fallback"
    )
    last = max((e.last_request_timestamp or 0 for e in replies), default=0)
    summary = LoadSummary(
        participants=checked,
        seconds=max(0.0, last - stats.total.start_time) if last else 0.0,
        sent=sent - send_failures,
        replied=merged.num_requests - merged.num_failures,
        fallbacks=fallbacks,
        late_replies=late,
        chats_checked=checked,
    )
    if merged.num_requests - merged.num_none_requests > 0:
        summary.latency_ms = {q: merged.get_response_time_percentile(q / 100) for q in (50, 95, 99)}
    for error in stats.errors.values():
        text = str(error.error)
        if error.method == "check" and error.name in ("lost", "duplicated"):
            details = text.split("(", 1)[-1].rstrip(")").strip("'\"")
            bucket = summary.lost if error.name == "lost" else summary.duplicated
            bucket += [details] * error.occurrences
        elif error.method == "reply" and "LostReply" in text:
            summary.timed_out += error.occurrences
        elif error.method not in ("reply", "check"):
            summary.errors += error.occurrences
            kind = f"{error.method} {error.name}: {text}"
            summary.error_kinds[kind] = summary.error_kinds.get(kind, 0) + error.occurrences
    summary.errors += exceptions
    return summary


def _reporter(environment: Environment) -> Report:
    def report(kind: str, name: str, seconds: float | None, error: Exception | None) -> None:
        environment.events.request.fire(
            request_type=kind,
            name=name,
            response_time=None if seconds is None else seconds * 1000,
            response_length=0,
            exception=error,
            context={},
        )

    return report


def _stop_clock() -> None:
    clock, _Process.clock = _Process.clock, None
    if clock is not None:
        clock.stop()


def _check_workers(runner: MasterRunner, environment: Environment) -> None:
    """Have every worker stop its participants and check their chats, and wait until each
    has sent the statistics that hold the results."""
    workers = {c.id for c in runner.clients.all if c.state != STATE_MISSING}
    _Process.checked = set()
    for worker in workers:
        runner.send_message(CHECK, None, client_id=worker)
    within = float(getattr(environment.parsed_options, "within", 30.0))
    deadline = time.monotonic() + within + CHECK_MARGIN_SECONDS
    while not workers <= _Process.checked and time.monotonic() < deadline:
        gevent.sleep(0.2)
    if not workers <= _Process.checked:
        log.error("%d worker(s) did not report their final check", len(workers - _Process.checked))


def _check_on_worker(environment: Environment, msg: Any, **_: Any) -> None:
    runner = environment.runner
    assert isinstance(runner, WorkerRunner)
    runner.stop()  # stops the participants; test_stop runs the check
    # Send the figures now rather than at the next periodic report (every 3 s), so that
    # the master, which is about to quit, has them. Locust has no public call for this.
    runner._send_stats()
    runner.send_message(CHECKED, None)


def _checked_on_master(environment: Environment, msg: Any, **_: Any) -> None:
    _Process.checked.add(msg.node_id)


def _end_when_everyone_is_done(environment: Environment) -> None:
    """With `--messages`, or when every participant fell silent, the participants stop by
    themselves: end the test then rather than at its time limit."""
    runner = environment.runner
    quiet, heard = 0, False
    while runner is not None and runner.state in ("running", "spawning"):
        gevent.sleep(1.0)
        # A master hears of its workers' users only from their reports, which a busy
        # machine delays past the end of spawning: count silence once users were heard of.
        heard = heard or runner.user_count > 0
        quiet = quiet + 1 if heard and runner.user_count == 0 else 0
        if quiet >= 2:  # twice: a master hears of its workers' users once a second
            log.info("every participant is done; stopping the test")
            if getattr(environment.parsed_options, "headless", False):
                runner.quit()
            else:
                runner.stop()
            return
