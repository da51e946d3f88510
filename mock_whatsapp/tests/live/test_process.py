"""The mock as a process: an open event stream does not hold up its shutdown."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e  # a real process


def test_sigterm_stops_the_mock_while_a_stream_is_open(
    mock_process: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    url, process = mock_process
    with (
        httpx.Client(base_url=url, timeout=10) as client,
        client.stream("GET", "/_mock/events") as response,
    ):
        lines = response.iter_lines()
        assert next(lines) == "retry: 1000"  # the stream is open and subscribed
        process.terminate()
        # A stream never ends by itself: without the mock's graceful-shutdown limit, this
        # would wait forever.
        process.wait(timeout=20)
    log = (tmp_path / "mock.log").read_text()
    assert "Application shutdown complete" in log  # a clean stop, not a kill
