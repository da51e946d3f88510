"""The committed transcript of a whole offline cycle is what the code says today."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


async def test_committed_transcript_is_current(create_database: Callable[[str], str]) -> None:
    spec = importlib.util.spec_from_file_location(
        "offline_transcript", ROOT / "agent" / "scripts" / "offline_transcript.py"
    )
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    text = await script.play(create_database("agent_transcript"))
    committed = (ROOT / "docs" / "agent-transcript.md").read_text()
    assert text == committed, (
        "regenerate: python agent/scripts/offline_transcript.py docs/agent-transcript.md"
    )
