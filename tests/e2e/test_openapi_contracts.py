"""Property-based checks of the three OpenAPI documents against the running services.

schemathesis reads each service's /openapi.json from a private native stack (real
processes, real Postgres, real HTTP) and sends generated requests, valid and invalid, to
every operation, then follows the documents' links (stateful phase): no answer may be a
server error, and every answer must be one its document describes (status, content type,
headers, body schema), 401s and 404s included; invalid input must be refused, and a call
without the token refused. The examples per operation are bounded (and the seed fixed,
so a failure reproduces) so that the three documents take a minute or two.

schemathesis runs as its command-line tool: its pytest plugin does not run under the
pytest this repository pins.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from stack import NativeStack

pytestmark = pytest.mark.e2e

DELIVERY_TOKEN = "contract-admin-token"
# A different seed explores other inputs: CONTRACT_SEED=n ./scripts/test ...
SEED = os.environ.get("CONTRACT_SEED", "15")


@pytest.fixture(scope="module")
def contract_stack(make_stack: Callable[..., NativeStack]) -> NativeStack:
    """A stack of its own: the generated requests reset the mock, move the clock, add
    participants and faults. delivery's admin API has a token, so its 401s are real."""
    return make_stack(DELIVERY_API_TOKEN=DELIVERY_TOKEN)


def schemathesis(
    base_url: str, token: str, workdir: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    """One bounded run over the service's document; its report is the output."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--max-examples",
        "25",
        "--seed",
        SEED,
        "--no-shrink",
        "--workers",
        "1",
        "--request-timeout",
        "15",
        "--suppress-health-check",
        "all",
        "--generation-database",
        "none",
        "--no-color",
        *options,
    ]
    return subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=600, check=False
    )


# Valid input may still be refused (an unknown participant, a phone that exists): that is
# the API's business, not a breach of its document.
EXCLUDED = ("--exclude-checks", "positive_data_acceptance")

# The runs, in order. The mock's in three: a fault added by the generated requests may
# slow its Graph API for minutes, so faults come last; its event stream (GET
# /_mock/events) never ends by itself, so it is left to test_stream.py.
RUNS = {
    "agent": ("agent", EXCLUDED),
    "delivery": ("delivery", EXCLUDED),
    # Meta answers a method a Graph path does not have with its 400 "(#100) Unsupported
    # ... request", and so does the mock, rather than the 405 schemathesis expects.
    "mock_whatsapp graph": (
        "mock_whatsapp",
        (
            "--exclude-checks",
            "positive_data_acceptance,unsupported_method",
            "--include-path-regex",
            "^/({version}|whatsapp_business)",
        ),
    ),
    "mock_whatsapp control": (
        "mock_whatsapp",
        (
            *EXCLUDED,
            "--include-path-regex",
            "^/(_mock|healthz|readyz)",
            "--exclude-path-regex",
            "^/_mock/(faults|events$)",
        ),
    ),
    "mock_whatsapp faults": (
        "mock_whatsapp",
        (*EXCLUDED, "--include-path-regex", "^/_mock/faults"),
    ),
}


@pytest.mark.parametrize("run_name", list(RUNS))
def test_every_answer_is_one_the_document_describes(
    contract_stack: NativeStack, run_name: str, tmp_path: Path
) -> None:
    service, options = RUNS[run_name]
    settings = contract_stack.settings()
    token = {
        "agent": settings["AGENT_API_TOKEN"],
        "delivery": DELIVERY_TOKEN,
        "mock_whatsapp": settings["WHATSAPP_ACCESS_TOKEN"],
    }[service]
    run = schemathesis(contract_stack.url(service), token, tmp_path, *options)
    assert run.returncode == 0, f"schemathesis found problems in {run_name}:\n{run.stdout}"
    assert "Server error" not in run.stdout
