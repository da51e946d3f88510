"""What `simulator run` prints and the JUnit XML it writes, from known results."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

from promptpipe_simulator.core.report import TextReporter, junit_xml, tally
from promptpipe_simulator.core.runner import ScenarioResult, StepOutcome
from promptpipe_simulator.core.scenario import parse


def results() -> list[ScenarioResult]:
    steps = {"steps": [{"send": "Hello!"}, {"expect_reply": {"matches": r"\?"}}]}
    good = parse({"name": "Says hello", **steps}, Path("s/hello.yaml"))
    bad = parse({"name": "Asks a question", **steps}, Path("s/question.yaml"))
    broken = parse({"name": "Cannot start", **steps}, Path("s/broken.yaml"))
    return [
        ScenarioResult(
            good,
            [StepOutcome(s, True, 0.5, detail="'Hi!'") for s in good.steps],
            seconds=1.0,
        ),
        ScenarioResult(
            bad,
            [
                StepOutcome(bad.steps[0], True, 0.1),
                StepOutcome(bad.steps[1], False, 15.0, failure="the coach sent:\n  - 'Hi!'"),
            ],
            seconds=15.1,
        ),
        ScenarioResult(broken, error="could not set up the participants: down", seconds=0.2),
    ]


def test_one_line_per_scenario_and_the_failing_step_with_why() -> None:
    out = io.StringIO()
    reporter = TextReporter(out)
    for result in results():
        reporter.scenario_finished(result)
    lines = out.getvalue().splitlines()
    assert lines[0] == "✓ PASS  Says hello  (hello.yaml)  2/2 steps  1.0s"
    assert lines[1] == "✗ FAIL  Asks a question  (question.yaml)  2/2 steps  15.1s"
    assert "2 ✗ expect a reply /\\?/ within 15s" in lines[2]
    assert lines[3:5] == ["        the coach sent:", "          - 'Hi!'"]
    assert lines[5].startswith("✗ FAIL  Cannot start")
    assert lines[6] == "      could not set up the participants: down"
    assert len(lines) == 7

    summary = tally(results(), 16.3)
    assert "3 scenarios: 1 passed, 2 failed in 16.3s" in summary
    assert "failed: Asks a question" in summary and "failed: Cannot start" in summary


def test_junit_has_a_testcase_per_scenario_with_its_failure() -> None:
    suite = ET.fromstring(junit_xml(results(), 16.3))
    assert suite.tag == "testsuite"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    hello, question, broken = suite.findall("testcase")
    assert (hello.get("name"), hello.get("time")) == ("hello", "1.000")
    assert hello.find("failure") is None and hello.find("error") is None
    failure = question.find("failure")
    assert failure is not None
    assert failure.get("message") == "step 2: expect a reply /\\?/ within 15s"
    assert "the coach sent" in (failure.text or "")
    system_out = question.findtext("system-out") or ""
    assert "send 'Hello!'" in system_out
    error = broken.find("error")
    assert error is not None and "could not set up" in (error.get("message") or "")
