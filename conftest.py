"""Fixtures shared by every Python test in the repository: a real PostgreSQL server, and
the test run that every process a test starts belongs to.

`TEST_DATABASE_URL` may name a server that the tests can create databases in (./scripts/test
sets it); otherwise one throwaway cluster is started for the session and removed after.

Each session belongs to a test run (scripts/lib/testruns.py): `scripts/test` opens one and
exports its id in PROMPTPIPE_TEST_RUN; pytest started by hand opens its own. The processes
the tests start inherit that mark, so a run that is killed leaves nothing the next run does
not stop. SIGTERM and SIGHUP (a timeout, a closed terminal) end the session as Ctrl-C
does, so the fixtures still stop what they started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

# The folder mock_whatsapp/ shares its name with the package inside it; importing the
# package first keeps pytest's importlib mode from taking the folder for the package when
# it names mock_whatsapp/tests/*.py "mock_whatsapp.tests.*".
with contextlib.suppress(ImportError):
    import mock_whatsapp  # noqa: F401

sys.path.insert(0, str(Path(__file__).parent / "scripts" / "lib"))
import pgcluster
import testruns
import xdist_schedule

_opened_run: Path | None = None  # the run this process opened, if it leads one
_timings: xdist_schedule.Timings | None = None  # kept by the process that reports


def pytest_configure(config: pytest.Config) -> None:
    global _opened_run, _timings
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    if not hasattr(config, "workerinput"):  # not an xdist worker: its reports reach us
        _timings = xdist_schedule.Timings()
    if testruns.MARK in os.environ:
        return  # scripts/test's run, or the xdist controller's
    for line in testruns.reap():
        print(line, file=sys.stderr)
    _opened_run = testruns.begin(os.getpid())
    os.environ[testruns.MARK] = _opened_run.name


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # before xdist's own choice
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """`--dist loadfile`, with the longest files first and the TUI's tests spread out
    (scripts/lib/xdist_schedule.py)."""
    if config.getvalue("dist") == "loadfile":
        return xdist_schedule.Schedule(config, log)
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _timings is not None:
        _timings.add(report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _timings is not None:
        _timings.save(session.config)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _opened_run is not None:
        testruns.end(_opened_run)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


@pytest.fixture(scope="session")
def test_run_dir() -> Path:
    """This run's folder under .stack/test: private stacks and clusters keep their state
    (and pid files) here, so that the next run can stop them if this one is killed."""
    return testruns.RUNS / os.environ[testruns.MARK]


@pytest.fixture(scope="session")
def postgres_server_url(test_run_dir: Path) -> Iterator[str]:
    """URL of a PostgreSQL server on which the tests may create and drop databases."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    cluster = pgcluster.Cluster(test_run_dir / f"pg-{os.getpid()}" / "data", pgcluster.free_port())
    cluster.init()
    cluster.start()
    try:
        yield cluster.url
    finally:
        cluster.stop(mode="immediate")  # its data is thrown away


@pytest.fixture(scope="session")
def create_database(postgres_server_url: str) -> Callable[..., str]:
    """Return a factory that makes a new database (empty, or a copy of a template) and
    returns its URL."""
    import psycopg

    def make(prefix: str, template: str | None = None) -> str:
        """A database named after `prefix`; a copy of the database `template` if given
        (file by file: for a small database a few times faster than the WAL-logged copy)."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        with psycopg.connect(postgres_server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        parts = urlsplit(postgres_server_url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    return make
