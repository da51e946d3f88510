"""`scripts/up` says where the stack answers: the ports .env and the environment chose."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_urls_printed_are_the_ports_in_use() -> None:
    ports = {"DELIVERY_PORT": "41001", "AGENT_PORT": "41002", "MOCK_WA_PORT": "41003"}
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lib" / "stack.py"), "urls"],
        env={**os.environ, **ports},
        capture_output=True,
        text=True,
        check=True,
    )
    words = run.stdout.split()
    assert dict(zip(words[::2], words[1::2], strict=True)) == {
        "delivery": "http://127.0.0.1:41001",
        "agent": "http://127.0.0.1:41002",
        "mock_whatsapp": "http://127.0.0.1:41003",
    }


def test_scripts_up_prints_those_urls() -> None:
    up = (ROOT / "scripts" / "up").read_text()
    assert 'stack.py" urls' in up or "stack.py urls" in up
    # Addresses handed to Compose (`export ..._URL=`) are inside its network, on the
    # containers' own ports; only the host's ports must follow .env.
    lines = [line for line in up.splitlines() if not ("export " in line and "_URL=" in line)]
    for default in ("8080", "8001", "8090"):
        assert all(default not in line for line in lines)
