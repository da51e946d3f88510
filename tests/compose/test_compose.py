"""The stack in Docker Compose: the file validates, and one message makes the round trip."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "lib"))
import testruns  # noqa: E402
from pgcluster import free_port  # noqa: E402

pytestmark = pytest.mark.compose


def run_setup(step: str) -> subprocess.CompletedProcess:
    """Run one of scripts/lib/docker-engine.sh's idempotent set-up steps."""
    return subprocess.run(
        [
            "bash",
            "-c",
            f"source scripts/lib/bootstrap.sh && source scripts/lib/docker-engine.sh && {step}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def compose_cli() -> None:
    """Docker Compose v2 as the docker CLI's plugin; installing it needs no engine, so a
    failure here is a failure, never a skip."""
    if shutil.which("docker") is None:
        pytest.fail("the docker CLI is not installed")
    plugin = run_setup("ensure_compose_plugin")
    assert plugin.returncode == 0, plugin.stderr[-2000:]


def compose(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", "compose", *args],
        cwd=ROOT,
        env=env,
        check=check,
        capture_output=True,
        text=True,
    )


@pytest.mark.usefixtures("compose_cli")
def test_compose_file_is_valid_without_an_env_file(tmp_path: Path) -> None:
    # --env-file pointing at an empty file proves no .env is needed.
    empty = tmp_path / "empty.env"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_IMAGE")}
    result = compose("--env-file", str(empty), "config", "--quiet", env=env, check=False)
    assert result.returncode == 0, result.stderr
    services = compose("--env-file", str(empty), "config", "--services", env=env).stdout.split()
    assert {"postgres", "delivery", "agent", "mock_whatsapp"} <= set(services)
    # The options stay out of the default stack: a profile each (docs/migration.md,
    # docs/monitoring.md).
    assert not {"agent-candidate", "prometheus"} & set(services)
    env["COMPOSE_PROFILES"] = "migration,monitoring"
    with_options = compose("--env-file", str(empty), "config", "--services", env=env)
    assert {"agent-candidate", "prometheus"} <= set(with_options.stdout.split())


@pytest.fixture(scope="module")
def compose_stack(compose_cli: None, test_run_dir: Path) -> Iterator[dict[str, str]]:
    """The whole stack under a private project name, on free ports, removed afterwards.
    Started once for the module; the project's name is recorded in the test run's folder,
    so that a killed run's containers are removed by the next run."""
    engine = run_setup("ensure_docker_engine")
    if engine.returncode != 0:
        # Only a machine that cannot run a Docker engine at all lands here; the exact
        # reason is in the skip message, and the compose file is still validated above.
        pytest.skip(f"no Docker engine can run here: {engine.stderr.strip()[-500:]}")
    images = subprocess.run(
        [str(ROOT / "scripts" / "build-base-images")], capture_output=True, text=True
    )
    if images.returncode != 0:
        pytest.fail(f"could not prepare Docker (engine or base images):\n{images.stderr[-3000:]}")
    env = dict(os.environ)
    env.update(line.split("=", 1) for line in images.stdout.split() if "=" in line)
    ports = {
        "DELIVERY_PORT": free_port(),
        "AGENT_PORT": free_port(),
        "MOCK_WA_PORT": free_port(),
        "POSTGRES_PORT": free_port(),
        "SIM_WEB_PORT": free_port(),
        "MOCK_WA_STATUS_DELAY_SECONDS": "0.1",
    }
    env.update({k: str(v) for k, v in ports.items()})
    # A name fixed per worktree lets repeated runs reuse the built images, and keeps
    # two worktrees on one Docker engine apart.
    worktree = hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
    env["COMPOSE_PROJECT_NAME"] = f"promptpipe-test-{worktree}"
    (test_run_dir / testruns.COMPOSE_PROJECT).write_text(env["COMPOSE_PROJECT_NAME"])
    compose("down", "--volumes", "--remove-orphans", env=env, check=False)  # a leftover
    started = time.monotonic()
    up = compose("up", "--build", "--detach", "--wait", env=env, check=False)
    print(f"compose up --build --wait: {time.monotonic() - started:.1f}s")
    try:
        if up.returncode != 0:
            logs = compose("logs", "--no-color", "--tail", "40", env=env, check=False).stdout
            pytest.fail(f"compose up failed:\n{up.stderr[-3000:]}\n{logs[-5000:]}")
        yield env
    finally:
        compose("down", "--volumes", "--remove-orphans", env=env, check=False)


def test_one_message_round_trip_through_compose(compose_stack: dict[str, str]) -> None:
    delivery = f"http://127.0.0.1:{compose_stack['DELIVERY_PORT']}"
    mock = f"http://127.0.0.1:{compose_stack['MOCK_WA_PORT']}"
    phone = "15551234567"
    with httpx.Client(timeout=10) as http:
        enrolled = http.post(
            f"{delivery}/conversation/participants",
            json={"phone_number": phone, "name": "Ada"},
        )
        assert enrolled.status_code == 201, enrolled.text
        sent = http.post(f"{mock}/_mock/phones/{phone}/messages", json={"text": "Hello!"})
        assert sent.status_code == 201, sent.text
        started = time.monotonic()
        deadline = started + 60
        replies: list[dict] = []
        while time.monotonic() < deadline and not replies:
            chat = http.get(f"{mock}/_mock/phones/{phone}/messages").json()
            replies = [m for m in chat if m["direction"] == "outbound"]
            time.sleep(0.2)
        print(f"round trip through compose: {(time.monotonic() - started) * 1000:.0f} ms")
    if not replies:
        logs = compose("logs", "--no-color", "--tail", "40", env=compose_stack, check=False)
        pytest.fail(f"no reply reached the phone within 60s\n{logs.stdout[-5000:]}")
    assert "habit coach" in replies[0]["text"]


def test_simulator_is_served_to_browsers(compose_stack: dict[str, str]) -> None:
    page = httpx.get(f"http://127.0.0.1:{compose_stack['SIM_WEB_PORT']}/", timeout=10)
    assert page.status_code == 200
    assert "PromptPipe simulator" in page.text
