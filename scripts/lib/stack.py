"""The native stack: Postgres, mock_whatsapp, agent and delivery as local processes.

`scripts/up` and `scripts/down` use it when no Docker engine answers, and the end-to-end
tests use it to run a private stack on free ports. Each service runs in its own session
with its log in `<state>/logs/` and its pid in `<state>/run/`, so `down` can stop what an
earlier `up` started. `up` also writes the stack's settings to `<state>/stack.json`, so
another process (the simulator's `restart` steps) can restart a service exactly as it was
started: `stack.py --state DIR restart delivery`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import pgcluster

import monitoring

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("mock_whatsapp", "agent", "delivery")
# Options of `up` (scripts/up --candidate / --monitoring, or STACK_CANDIDATE=true and
# STACK_MONITORING=true): a second agent as the migration's candidate, and Prometheus.
OPTIONAL = ("agent_candidate", "prometheus")
ALL_SERVICES = (*SERVICES, *OPTIONAL)
STATE_FILE = "stack.json"  # how `up` configured the stack, for later restarts

# Local defaults shared with .env.example and compose.yaml; an .env file or the
# environment overrides them.
DEFAULTS = {
    "WHATSAPP_PHONE_NUMBER_ID": "100000000000001",
    "WHATSAPP_ACCESS_TOKEN": "dev-access-token",
    "WHATSAPP_APP_SECRET": "dev-app-secret",
    "WHATSAPP_VERIFY_TOKEN": "dev-verify-token",
    "DELIVERY_PORT": "8080",
    "AGENT_PORT": "8001",
    "MOCK_WA_PORT": "8090",
    "POSTGRES_PORT": "5433",
    "DEV_CLOCK": "true",
    # delivery sends it to the agent, which refuses callers without it.
    "AGENT_API_TOKEN": "dev-agent-token",
}


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a dotenv file: KEY=VALUE lines, comments and blank lines ignored."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


@dataclass
class Ports:
    delivery: int = 8080
    agent: int = 8001
    mock_whatsapp: int = 8090
    postgres: int = 5433
    agent_candidate: int = 8002
    prometheus: int = 9090

    @classmethod
    def free(cls) -> Ports:
        """Ports the kernel says are free, every one: a private stack (a test's, a
        benchmark's) beside the developer's own."""
        return cls(**{f.name: pgcluster.free_port() for f in fields(cls)})


@dataclass
class NativeStack:
    """A stack whose state (cluster, logs, pids) lives under `state_dir`."""

    state_dir: Path
    ports: Ports = field(default_factory=Ports)
    database_url: str | None = None  # None: run our own cluster under state_dir
    overrides: dict[str, str] = field(default_factory=dict)
    # Children started by this object; `down` from another process finds them by pid file.
    _children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)

    @property
    def cluster(self) -> pgcluster.Cluster:
        return pgcluster.Cluster(self.state_dir / "pg", self.ports.postgres)

    @classmethod
    def load(cls, state_dir: Path) -> NativeStack:
        """The stack that `up` started with this state folder, as it was configured;
        secrets, which `save` leaves out, come from .env and the environment again."""
        data = json.loads((state_dir / STATE_FILE).read_text())
        overrides = dict(data["overrides"])
        overrides.update({k: v for k, v in local_settings().items() if _is_secret(k)})
        return cls(
            state_dir,
            Ports(**data["ports"]),
            database_url=data["database_url"],
            overrides=overrides,
        )

    def save(self) -> None:
        """Record how this stack is configured, for `load`; secrets stay in .env."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        data = {
            "ports": asdict(self.ports),
            "database_url": self.database_url,
            "overrides": {k: v for k, v in self.overrides.items() if not _is_secret(k)},
        }
        (self.state_dir / STATE_FILE).write_text(json.dumps(data, indent=2))

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{getattr(self.ports, service)}"

    def settings(self) -> dict[str, str]:
        """The shared settings: defaults, then .env / environment, then overrides."""
        merged = dict(DEFAULTS)
        merged.update(self.overrides)
        return merged

    def enabled(self, option: str) -> bool:
        """Whether an option of `up` is on: STACK_CANDIDATE, STACK_MONITORING."""
        return self.settings().get(option, "").lower() in ("1", "true", "yes", "on")

    def services(self) -> list[str]:
        """The services this stack runs, in start order."""
        order = ["mock_whatsapp", "agent"]
        if self.enabled("STACK_CANDIDATE"):
            order.append("agent_candidate")
        order.append("delivery")
        if self.enabled("STACK_MONITORING"):
            order.append("prometheus")
        return order

    def service_env(self, service: str = "") -> dict[str, str]:
        s = self.settings()
        db = self.database_url or self.cluster.url
        env = {
            **os.environ,
            **s,
            "DATABASE_URL": db,
            # delivery
            "DELIVERY_ADDR": f"127.0.0.1:{self.ports.delivery}",
            "PYTHON_AGENT_URL": self.url("agent"),
            # The mock unless .env points delivery elsewhere (at Meta, to go live).
            "WHATSAPP_API_URL": s.get("WHATSAPP_API_URL", f"{self.url('mock_whatsapp')}/v21.0"),
            "DEV_CLOCK_NOTIFY_URLS": f"{self.url('mock_whatsapp')}/_mock/clock",
            # agent
            "AGENT_HOST": "127.0.0.1",
            "AGENT_PORT": str(self.ports.agent),
            "DELIVERY_URL": self.url("delivery"),
            # mock_whatsapp plays Meta, so it holds the same credentials as delivery.
            "MOCK_WA_HOST": "127.0.0.1",
            "MOCK_WA_PORT": str(self.ports.mock_whatsapp),
            "MOCK_WA_WEBHOOK_URL": f"{self.url('delivery')}/webhooks/whatsapp",
            "MOCK_WA_DATABASE_URL": db,
            "MOCK_WA_PHONE_NUMBER_ID": s["WHATSAPP_PHONE_NUMBER_ID"],
            "MOCK_WA_ACCESS_TOKEN": s["WHATSAPP_ACCESS_TOKEN"],
            "MOCK_WA_APP_SECRET": s["WHATSAPP_APP_SECRET"],
            "MOCK_WA_VERIFY_TOKEN": s["WHATSAPP_VERIFY_TOKEN"],
            "PYTHONUNBUFFERED": "1",
        }
        if self.enabled("STACK_CANDIDATE"):
            env["AGENT_CANDIDATE_URL"] = self.url("agent_candidate")
        if s.get("STACK_PRIMARY") == "fallback":
            # The guide's rollback plan, to the letter: delivery's agent is its Go fallback.
            env["PYTHON_AGENT_URL"] = f"{self.url('delivery')}/fallback"
        if service == "agent_candidate":
            # The same coach in a schema of its own, with a visibly different manner.
            env["AGENT_PORT"] = str(self.ports.agent_candidate)
            env["AGENT_DB_SCHEMA"] = s.get("AGENT_CANDIDATE_SCHEMA", "agent_candidate")
            env["AGENT_DEFAULT_TONE"] = s.get("AGENT_CANDIDATE_TONE", "concise")
        return env

    def command(self, service: str) -> list[str]:
        python = str(ROOT / ".venv" / "bin" / "python")
        if service == "delivery":
            return [str(ROOT / ".stack" / "bin" / "delivery")]
        if service in ("agent", "agent_candidate"):
            return [python, "-m", "promptpipe_agent"]
        if service == "prometheus":
            folder = self.state_dir / "prometheus"
            return [
                "prometheus",
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'data'}",
                "--storage.tsdb.retention.time=2d",
                f"--web.listen-address=127.0.0.1:{self.ports.prometheus}",
            ]
        return [python, "-m", "mock_whatsapp"]

    def write_prometheus_config(self) -> None:
        """prometheus.yml for this stack's ports, beside a copy of the rules."""
        folder = self.state_dir / "prometheus"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "rules.yml").write_text((ROOT / "monitoring" / "rules.yml").read_text())
        targets = {
            s: f"127.0.0.1:{getattr(self.ports, s)}" for s in self.services() if s != "prometheus"
        }
        targets["prometheus"] = f"127.0.0.1:{self.ports.prometheus}"
        config = monitoring.prometheus_config(targets, str(folder / "rules.yml"))
        (folder / "prometheus.yml").write_text(config)

    def _pidfile(self, service: str) -> Path:
        return self.state_dir / "run" / f"{service}.pid"

    def logfile(self, service: str) -> Path:
        return self.state_dir / "logs" / f"{service}.log"

    def pid(self, service: str) -> int | None:
        try:
            pid = int(self._pidfile(service).read_text())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) else None

    def start_service(self, service: str) -> None:
        if self.pid(service):
            return
        for sub in ("run", "logs"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        if service == "prometheus":
            self.write_prometheus_config()
        with open(self.logfile(service), "ab") as log:
            proc = subprocess.Popen(
                self.command(service),
                cwd=ROOT,
                env=self.service_env(service),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._children[service] = proc
        self._pidfile(service).write_text(str(proc.pid))

    def stop_service(self, service: str, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        """Stop a service: `sig` first (SIGKILL to simulate a crash), then SIGKILL if needed."""
        pid = self.pid(service)
        if pid is None:
            self._pidfile(service).unlink(missing_ok=True)
            return
        _signal_group(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        child = self._children.pop(service, None)
        if child is not None:
            child.wait()
        self._pidfile(service).unlink(missing_ok=True)

    def wait_ready(self, service: str, timeout: float = 60) -> None:
        url = self.ready_url(service)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid(service) is None:
                raise RuntimeError(f"{service} exited during start-up\n{self.log_tail(service)}")
            if is_ready(url):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{service} not ready after {timeout:.0f}s\n{self.log_tail(service)}")

    def ready_url(self, service: str) -> str:
        path = "/-/ready" if service == "prometheus" else "/readyz"
        return f"{self.url(service)}{path}"

    def log_tail(self, service: str, lines: int = 40) -> str:
        try:
            text = self.logfile(service).read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return f"(no log for {service})"
        return "\n".join(f"  {service}| {line}" for line in text[-lines:])

    def restart_service(self, service: str) -> None:
        """Stop the service and start it again as `up` did; returns once it is ready."""
        self.stop_service(service)
        self.start_service(service)
        self.wait_ready(service)

    def up(self) -> None:
        self.save()
        if self.database_url is None:
            self.cluster.init()
            self.cluster.start()
        for service in self.services():
            self.start_service(service)
            self.wait_ready(service)

    def down(self) -> None:
        # Every service that may run, so an option switched off since `up` stops too.
        for service in reversed(
            ["mock_whatsapp", "agent", "agent_candidate", "delivery", "prometheus"]
        ):
            self.stop_service(service)
        if self.database_url is None:
            self.cluster.stop()

    def status(self) -> dict[str, bool]:
        return {s: is_ready(self.ready_url(s)) for s in self.services()}


def is_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A dead child that nobody has reaped yet still answers kill(0).
    return _is_running_not_zombie(pid)


def _is_running_not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


# Environment variables that configure the native stack (besides those in DEFAULTS).
PASSED_PREFIXES = (
    "WHATSAPP_",
    "LLM_",
    "OPENAI_",
    "DELIVERY_",
    "AGENT_",
    "MOCK_WA_",
    "DEV_",
    "STACK_",
    "PROMETHEUS_",
    "PYTHON_AGENT_",
)


def local_settings() -> dict[str, str]:
    """The stack's settings from .env, then the environment."""
    settings = read_env_file(ROOT / ".env")
    settings.update(
        {k: v for k, v in os.environ.items() if k in DEFAULTS or k.startswith(PASSED_PREFIXES)}
    )
    return settings


def _is_secret(key: str) -> bool:
    return any(word in key for word in ("KEY", "TOKEN", "SECRET", "PASSWORD"))


def default_stack() -> NativeStack:
    """The developer's stack under .stack/, configured by .env, then the environment."""
    settings = local_settings()
    ports = Ports(
        delivery=int(settings.get("DELIVERY_PORT", 8080)),
        agent=int(settings.get("AGENT_PORT", 8001)),
        mock_whatsapp=int(settings.get("MOCK_WA_PORT", 8090)),
        postgres=int(settings.get("POSTGRES_PORT", 5433)),
        agent_candidate=int(settings.get("AGENT_CANDIDATE_PORT", 8002)),
        prometheus=int(settings.get("PROMETHEUS_PORT", 9090)),
    )
    return NativeStack(ROOT / ".stack" / "native", ports, overrides=settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the stack as native processes.")
    parser.add_argument(
        "--state",
        type=Path,
        help="the stack's state folder (default .stack/native); for stop/start/restart",
    )
    parser.add_argument(
        "command", choices=["up", "down", "status", "stop", "start", "restart", "urls"]
    )
    parser.add_argument("service", nargs="?", choices=ALL_SERVICES, help="for stop/start/restart")
    args = parser.parse_args(argv)
    if args.command in ("stop", "start", "restart"):
        return control(args.command, args.service, args.state)
    stack = default_stack()
    if args.command == "urls":  # where the stack answers, natively or under Compose
        print("  ".join(f"{s} {stack.url(s)}" for s in stack.services()))
    elif args.command == "up":
        try:
            stack.up()
        except RuntimeError as err:
            print(f"stack did not start: {err}", file=sys.stderr)
            return 1
        print(json.dumps({s: stack.url(s) for s in stack.services()}))
    elif args.command == "down":
        stack.down()
    else:
        status = stack.status()
        print(json.dumps(status))
        return 0 if all(status.values()) else 3
    return 0


def control(command: str, service: str | None, state_dir: Path | None) -> int:
    """Stop, start or restart one service of a stack that `up` started."""
    if service is None:
        print(f"{command} needs a service: one of {', '.join(ALL_SERVICES)}", file=sys.stderr)
        return 2
    state_dir = state_dir or ROOT / ".stack" / "native"
    if (state_dir / STATE_FILE).exists():
        stack = NativeStack.load(state_dir)
    elif state_dir == ROOT / ".stack" / "native" and any(
        (state_dir / "run" / f"{s}.pid").exists() for s in ALL_SERVICES
    ):
        stack = default_stack()  # started before `up` recorded its settings
    else:
        print(f"no native stack in {state_dir}: start one with ./scripts/up", file=sys.stderr)
        return 1
    try:
        if command == "stop":
            stack.stop_service(service)
        elif command == "start":
            stack.start_service(service)
            stack.wait_ready(service)
        else:
            stack.restart_service(service)
    except RuntimeError as err:
        print(f"{service} did not {command}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
