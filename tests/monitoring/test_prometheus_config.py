"""Prometheus's rules and configuration (monitoring/): promtool checks the rules and runs
their unit tests (rules.test.yml), and compose's configuration is what the generator
writes, so the native and compose stacks scrape the same jobs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "lib"))
import monitoring  # noqa: E402

PROMTOOL = shutil.which("promtool")
# Skipped only in a bare pytest on a machine without it: scripts/test installs Debian's
# prometheus first, so under CI a missing promtool fails these tests instead of hiding them.
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None and not os.environ.get("CI"),
    reason="promtool comes with Debian's prometheus (scripts/test installs it)",
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None, "no promtool: scripts/test installs Debian's prometheus"
    return subprocess.run(
        [PROMTOOL, *args], cwd=ROOT / "monitoring", capture_output=True, text=True, check=False
    )


@needs_promtool
def test_the_rules_are_valid_and_pass_their_unit_tests() -> None:
    checked = promtool("check", "rules", "rules.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "rules.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


@needs_promtool
def test_a_generated_native_config_is_valid(tmp_path: Path) -> None:
    shutil.copy(ROOT / "monitoring" / "rules.yml", tmp_path / "rules.yml")
    config = monitoring.prometheus_config(
        {"delivery": "127.0.0.1:8080", "agent": "127.0.0.1:8001"}, str(tmp_path / "rules.yml")
    )
    (tmp_path / "prometheus.yml").write_text(config)
    checked = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_composes_config_is_the_generators() -> None:
    checked_in = (ROOT / "monitoring" / "prometheus.compose.yml").read_text()
    assert checked_in == monitoring.compose_config(), (
        "run: python scripts/lib/monitoring.py compose > monitoring/prometheus.compose.yml"
    )
