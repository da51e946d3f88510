"""Fixtures shared by every Python test in the repository: a real PostgreSQL server.

`TEST_DATABASE_URL` may name a server that the tests can create databases in (./scripts/test
sets it); otherwise one throwaway cluster is started for the session and removed after.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
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


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server on which the tests may create and drop databases."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    workdir = Path(tempfile.mkdtemp(prefix="pp-pg-"))
    os.chmod(workdir, 0o755)
    cluster = pgcluster.Cluster(workdir / "data", pgcluster.free_port())
    cluster.init()
    cluster.start()
    try:
        yield cluster.url
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def create_database(postgres_server_url: str) -> Callable[[str], str]:
    """Return a factory that makes a new, empty database and returns its URL."""
    import psycopg

    def make(prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(postgres_server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(postgres_server_url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    return make
