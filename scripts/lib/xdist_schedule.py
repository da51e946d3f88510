"""How pytest-xdist hands the tests to its workers in scripts/test (`-n N --dist loadfile`).

As `loadfile` does, a file's tests go to one worker, one after another, so that a
module's browser, Compose project or private stack starts once. Two changes:

- The files in SPREAD hold many independent tests that start nothing shared (the TUI's
  Pilot tests): their tests are handed out one by one, so they run on every worker at
  once instead of making one worker the last to finish.
- The longest work goes first (the longest-processing-time rule): each file's (or
  spread test's) duration in the last runs is kept in pytest's cache, and a unit never
  seen before counts by its place (Compose and end-to-end files are long).

Without this a slow file handed out last (the Compose build, a crash test) held the whole
run up while the other workers idled.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest
from xdist.scheduler import LoadFileScheduling

SPREAD = {
    "simulator/tests/test_app.py",
    "simulator/tests/test_event_log.py",
    "simulator/tests/test_snapshots.py",
}
CACHE_KEY = "promptpipe/durations"


def unit_of(nodeid: str) -> str:
    """What one worker runs as a whole: the test's file, or the test in a spread file."""
    path = nodeid.split("::", 1)[0]
    return nodeid if path in SPREAD else path


def guess(unit: str, tests: int) -> float:
    """Seconds a unit never timed may take: a Compose file most, then end-to-end files."""
    if unit.startswith("tests/compose/"):
        return 300.0
    if unit.startswith("tests/"):
        return 30.0 + 5.0 * tests
    return 1.0 * tests


class LongestFirst(OrderedDict[str, dict[str, bool]]):
    """xdist's queue of work units, handing out the longest one first."""

    def __init__(self, seconds: dict[str, float]) -> None:
        super().__init__()
        self.seconds = seconds

    def popitem(self, last: bool = True) -> tuple[str, dict[str, bool]]:
        unit = max(self, key=self.estimate)
        return unit, self.pop(unit)

    def estimate(self, unit: str) -> float:
        guessed = guess(unit, len(self[unit]))
        if unit.startswith("tests/compose/"):
            # Its images are rebuilt whenever a service's code changed since the last
            # run, which a run with cached images does not show: rank it as a rebuild.
            return max(self.seconds.get(unit, 0.0), guessed)
        return self.seconds.get(unit, guessed)


class Schedule(LoadFileScheduling):
    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        cache = getattr(config, "cache", None)  # None under -p no:cacheprovider
        self.workqueue = LongestFirst(cache.get(CACHE_KEY, {}) if cache else {})

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)


class Timings:
    """Adds up each unit's duration in this run (setup, call and teardown of its tests)
    and keeps it in the cache for the next run's order; units not run keep theirs."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, report: pytest.TestReport) -> None:
        unit = unit_of(report.nodeid)
        self.seconds[unit] = self.seconds.get(unit, 0.0) + report.duration

    def save(self, config: pytest.Config) -> None:
        cache = getattr(config, "cache", None)
        if cache is None or not self.seconds:
            return
        kept = dict(cache.get(CACHE_KEY, {}))
        kept.update({unit: round(s, 2) for unit, s in self.seconds.items()})
        cache.set(CACHE_KEY, kept)
