"""`simulator run` as a developer or a CI job runs it: a line per scenario, a tally, the
exit code, and a JUnit XML report, against a private stack."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_summary_lines_tally_exit_code_and_junit(stack: Any, tmp_path: Path) -> None:
    (tmp_path / "expects-a-list.yaml").write_text(
        "name: Expects a list\n"
        "description: the unknown sender's acknowledgement offers no list rows.\n"
        "participants: {stranger: {enrolled: false}}\n"
        "steps:\n"
        "  - send: Hi\n"
        "  - expect_reply: {rows: [Walk, Stretch], within: 2s}\n"
    )
    env = {
        **os.environ,
        "SIM_DELIVERY_URL": stack.url("delivery"),
        "SIM_MOCK_WA_URL": stack.url("mock_whatsapp"),
        "SIM_AGENT_URL": stack.url("agent"),
    }
    report = tmp_path / "ci" / "scenarios.xml"
    shipped = ROOT / "simulator" / "scenarios" / "unknown-sender.yaml"
    command = [sys.executable, "-m", "promptpipe_simulator", "run", "--stack", "none"]
    run = subprocess.run(
        [*command, "--junit", str(report), "--cleanup", str(shipped), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("✓ PASS  Unknown sender  (unknown-sender.yaml)  6/6 steps")
    assert lines[1].startswith("✗ FAIL  Expects a list  (expects-a-list.yaml)  2/2 steps")
    assert "2 ✗ stranger: expect a reply rows ['Walk', 'Stretch'] within 2s" in lines[2]
    assert "2 scenarios: 1 passed, 1 failed in" in run.stdout
    assert "failed: Expects a list" in run.stdout

    suite = ET.parse(report).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    passed, failed = suite.findall("testcase")
    assert passed.get("name") == "unknown-sender" and passed.find("failure") is None
    failure = failed.find("failure")
    assert failure is not None and "rows are []" in (failure.text or "")
