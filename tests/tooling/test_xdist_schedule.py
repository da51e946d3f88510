"""The order in which scripts/test hands out work to pytest-xdist's workers."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "lib"))
import xdist_schedule


def queue(seconds: dict[str, float], units: dict[str, int]) -> xdist_schedule.LongestFirst:
    q = xdist_schedule.LongestFirst(seconds)
    for unit, tests in units.items():
        q[unit] = {f"{unit}::t{i}": False for i in range(tests)}
    return q


def test_the_longest_unit_goes_first_and_compose_counts_as_a_rebuild() -> None:
    q = queue(
        {"tests/compose/test_compose.py": 40.0, "agent/tests/test_a.py": 100.0},
        {
            "agent/tests/test_a.py": 3,
            "tests/compose/test_compose.py": 3,
            "tests/e2e/test_new.py": 4,  # never timed: an end-to-end file is long
            "agent/tests/test_new.py": 4,  # never timed: a second per test
        },
    )
    order = [q.popitem(last=False)[0] for _ in range(len(q))]
    assert order == [
        "tests/compose/test_compose.py",
        "agent/tests/test_a.py",
        "tests/e2e/test_new.py",
        "agent/tests/test_new.py",
    ]


def test_the_tuis_tests_are_units_of_their_own_other_files_are_one_unit() -> None:
    assert xdist_schedule.unit_of("simulator/tests/test_app.py::test_x") == (
        "simulator/tests/test_app.py::test_x"
    )
    assert xdist_schedule.unit_of("agent/tests/test_a.py::test_b[1]") == "agent/tests/test_a.py"


class Cache:
    def __init__(self, kept: dict[str, Any]) -> None:
        self.kept = kept

    def get(self, key: str, default: Any) -> Any:
        return self.kept.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.kept[key] = value


def test_a_runs_timings_replace_those_of_the_units_it_ran_only() -> None:
    cache = Cache({xdist_schedule.CACHE_KEY: {"a.py": 5.0, "b.py": 7.0}})
    timings = xdist_schedule.Timings()
    for nodeid, seconds in [("a.py::t1", 1.0), ("a.py::t2", 0.5), ("c.py::t", 2.0)]:
        timings.add(SimpleNamespace(nodeid=nodeid, duration=seconds))  # type: ignore[arg-type]
    timings.save(SimpleNamespace(cache=cache))  # type: ignore[arg-type]
    assert cache.kept[xdist_schedule.CACHE_KEY] == {"a.py": 1.5, "b.py": 7.0, "c.py": 2.0}
