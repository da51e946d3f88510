"""A throwaway PostgreSQL cluster made from the machine's PostgreSQL binaries.

Used by the native stack (`scripts/up`) and by tests that need a real database. PostgreSQL
refuses to run as root, so when we are root the server runs as the `postgres` user.
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

USER = "promptpipe"
PASSWORD = "promptpipe"
DATABASE = "promptpipe"


def find_bindir() -> Path:
    """Return the directory holding initdb/pg_ctl, newest PostgreSQL first."""
    explicit = os.environ.get("PG_BINDIR")
    if explicit:
        return Path(explicit)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major, reverse=True)
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError("PostgreSQL server binaries not found: install Debian's postgresql package")


def _major(path: str) -> int:
    try:
        return int(Path(path).parent.name)
    except ValueError:
        return 0


def free_port() -> int:
    """Ask the kernel for a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """One cluster in `datadir`, listening on 127.0.0.1:`port`."""

    datadir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgres://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{DATABASE}?sslmode=disable"

    def admin_url(self, database: str = DATABASE) -> str:
        return f"postgres://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}?sslmode=disable"

    def _run_as_owner(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--", *args]
        return subprocess.run(args, check=True, **kwargs)

    def init(self) -> None:
        """Create the cluster with a password-protected superuser, once."""
        if (self.datadir / "PG_VERSION").exists():
            return
        self.datadir.mkdir(parents=True, exist_ok=True)
        pwfile = self.datadir.parent / f".{self.datadir.name}.pw"
        pwfile.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (self.datadir, pwfile):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        try:
            self._run_as_owner(
                [
                    str(find_bindir() / "initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    USER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                stdout=subprocess.DEVNULL,
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self) -> None:
        """Start the server (sockets in the data dir, TCP on loopback only) and wait."""
        if self.is_running():
            return
        # max_connections: a test run shares one server among every worker's stacks (each
        # with its services' pools), delivery's Go tests and the agent's tests, at once;
        # 200 ran out ("too many clients already").
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.datadir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=600"
        )
        self._run_as_owner(
            [
                str(find_bindir() / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(self.datadir / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            stdout=subprocess.DEVNULL,
        )
        self._wait_accepting()
        self._ensure_database()

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; mode "immediate" is a crash (no shutdown checkpoint): for data
        thrown away, and for tests of reconnecting."""
        if not self.is_running():
            return
        self._run_as_owner(
            [str(find_bindir() / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"],
            stdout=subprocess.DEVNULL,
        )

    def is_running(self) -> bool:
        pidfile = self.datadir / "postmaster.pid"
        if not pidfile.exists():
            return False
        try:
            pid = int(pidfile.read_text().split()[0])
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError, IndexError):
            return False
        except PermissionError:
            return True
        return True

    def _wait_accepting(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"postgres did not accept connections on port {self.port}")

    def psql(self, sql: str, database: str = "postgres") -> str:
        env = {**os.environ, "PGPASSWORD": PASSWORD}
        out = subprocess.run(
            [
                str(find_bindir() / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                USER,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def _ensure_database(self) -> None:
        if self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'") != "1":
            self.psql(f'CREATE DATABASE "{DATABASE}"')

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL (tests use one per test module)."""
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.psql(f'CREATE DATABASE "{name}"')
        return self.admin_url(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["start", "stop", "status", "url"])
    parser.add_argument("--datadir", required=True, type=Path)
    parser.add_argument("--port", type=int, default=5433)
    args = parser.parse_args(argv)
    cluster = Cluster(args.datadir.resolve(), args.port)
    if args.command == "start":
        cluster.init()
        cluster.start()
        print(cluster.url)
    elif args.command == "stop":
        cluster.stop()
    elif args.command == "status":
        print("running" if cluster.is_running() else "stopped")
        return 0 if cluster.is_running() else 3
    else:
        print(cluster.url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
