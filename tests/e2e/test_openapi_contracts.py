"""Property-based checks of the three OpenAPI documents against the running services.

schemathesis reads each service's /openapi.json from a private native stack (real
processes, real Postgres, real HTTP) and sends generated requests, valid and invalid, to
every operation: no answer may be a server error, and every answer must be one the
document describes (status, content type, body schema), 401s and 404s included. The
examples per operation are bounded so that the three documents take a minute or two.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import Case

from stack import NativeStack

pytestmark = pytest.mark.e2e

DELIVERY_TOKEN = "contract-admin-token"

# Bounded: a few dozen cases per operation, no shrinking (a failure is reported as
# found), no example database left behind in the working tree.
BOUNDED = hypothesis.settings(
    max_examples=25,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def contract_stack(make_stack: Callable[..., NativeStack]) -> NativeStack:
    """A stack of its own: the generated requests reset the mock, move the clock, add
    participants and faults. delivery's admin API has a token, so its 401s are real."""
    return make_stack(DELIVERY_API_TOKEN=DELIVERY_TOKEN)


def auth_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def delivery_api(contract_stack: NativeStack) -> Any:
    return schemathesis.openapi.from_url(f"{contract_stack.url('delivery')}/openapi.json")


@pytest.fixture(scope="module")
def agent_api(contract_stack: NativeStack) -> Any:
    return schemathesis.openapi.from_url(f"{contract_stack.url('agent')}/openapi.json")


@pytest.fixture(scope="module")
def mock_api(contract_stack: NativeStack) -> Any:
    return schemathesis.openapi.from_url(f"{contract_stack.url('mock_whatsapp')}/openapi.json")


delivery_schema = schemathesis.pytest.from_fixture("delivery_api")
agent_schema = schemathesis.pytest.from_fixture("agent_api")
mock_schema = schemathesis.pytest.from_fixture("mock_api")


@delivery_schema.parametrize()
@BOUNDED
def test_delivery_answers_as_documented(case: Case, contract_stack: NativeStack) -> None:
    case.call_and_validate(
        base_url=contract_stack.url("delivery"), headers=auth_header(DELIVERY_TOKEN), timeout=15
    )


@agent_schema.parametrize()
@BOUNDED
def test_agent_answers_as_documented(case: Case, contract_stack: NativeStack) -> None:
    token = contract_stack.settings()["AGENT_API_TOKEN"]
    case.call_and_validate(
        base_url=contract_stack.url("agent"), headers=auth_header(token), timeout=15
    )


@mock_schema.parametrize()
@BOUNDED
def test_mock_answers_as_documented(case: Case, contract_stack: NativeStack) -> None:
    token = contract_stack.settings()["WHATSAPP_ACCESS_TOKEN"]
    case.call_and_validate(
        base_url=contract_stack.url("mock_whatsapp"), headers=auth_header(token), timeout=15
    )
