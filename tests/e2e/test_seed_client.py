"""The integration guide's Go client, compiled unchanged, gets a valid answer from our agent
when its program sends the agent's token (through http.DefaultTransport), and only then.

The guide lives beside the repository, in ../shared/seed/INTEGRATION.md (CI lays it there);
a clone without it skips this test and says which file it needs."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

GUIDE = Path(__file__).resolve().parents[3] / "shared" / "seed" / "INTEGRATION.md"

MAIN = """package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"

	"seedcheck/agent"
)

// withToken adds the agent's bearer token to every request. The guide's client builds its
// http.Client without a transport, so it uses http.DefaultTransport: wrapping that one
// sends the token without changing a line of the guide's code.
type withToken struct {
	token string
	next  http.RoundTripper
}

func (t withToken) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(r)
}

func main() {
	if token := os.Getenv("AGENT_API_TOKEN"); token != "" {
		http.DefaultTransport = withToken{token, http.DefaultTransport}
	}
	client := agent.NewClient(os.Args[1])
	ctx := context.Background()
	if err := client.Health(ctx); err != nil {
		panic(err)
	}
	resp, err := client.ProcessMessage(ctx, "p_seedcheck", "Hello!", "+15551234567")
	if err != nil {
		panic(err)
	}
	json.NewEncoder(os.Stdout).Encode(resp)
}
"""


def seed_client_source() -> str:
    """The guide's first Go block: internal/agent/client.go, exactly as written there."""
    blocks = re.findall(r"```go\n(.*?)```", GUIDE.read_text(), flags=re.S)
    source = blocks[0]
    assert source.startswith("package agent"), "the guide's first Go block is no longer the client"
    return source


@pytest.mark.skipif(
    not GUIDE.is_file(),
    reason=f"needs the integration guide's Go client from {GUIDE}, which is not there",
)
def test_seed_go_client_works_unchanged_against_the_agent(stack: Any, tmp_path: Path) -> None:
    module = tmp_path / "seedcheck"
    (module / "agent").mkdir(parents=True)
    (module / "go.mod").write_text("module seedcheck\n\ngo 1.22\n")
    (module / "agent" / "client.go").write_text(seed_client_source())
    (module / "main.go").write_text(MAIN)

    subprocess.run(["go", "build", "-o", "seedcheck", "."], cwd=module, check=True, timeout=180)
    token = stack.settings()["AGENT_API_TOKEN"]

    def call(env_token: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(module / "seedcheck"), stack.url("agent")],
            env={**os.environ, "AGENT_API_TOKEN": env_token},
            capture_output=True,
            text=True,
            timeout=60,
        )

    refused = call("")  # the guide's client as is: health answers, a turn is refused
    assert refused.returncode != 0
    assert "status 401" in refused.stderr, refused.stderr
    run = call(token)
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert isinstance(answer["response"], str) and answer["response"]
    assert answer["state"] in {"INTAKE", "FEEDBACK"}
    assert answer["metadata"]["participant_id"] == "p_seedcheck"
