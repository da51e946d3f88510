"""The load driver's bookkeeping: replies paired with messages, losses and duplicates
found, percentiles of what was measured."""

from __future__ import annotations

import math

from promptpipe_simulator.core.clients import ChatMessage
from promptpipe_simulator.core.load import SCRIPT, LoadReport, check_chat, percentile, script


def msg(direction: str, text: str, at: str) -> ChatMessage:
    data = {"id": f"wamid.{text}", "direction": direction, "text": text}
    return ChatMessage.from_api({**data, "timestamp": f"2026-01-01T12:00:{at}Z"})


def test_each_message_paired_with_its_one_reply() -> None:
    chat = [
        msg("inbound", "Hello!", "00.000"),
        msg("outbound", "Hi there!", "00.250"),
        msg("inbound", "personalize", "01.000"),
        msg("outbound", "What habit?", "01.100"),
    ]
    check = check_chat(chat)
    assert check.latencies == [0.25, 0.1]
    assert check.lost == [] and check.duplicated == []


def test_lost_and_duplicated_replies_are_found() -> None:
    chat = [
        msg("inbound", "Hello!", "00.000"),
        msg("outbound", "Hi there!", "00.200"),
        msg("outbound", "Hi there!", "00.300"),  # sent twice
        msg("inbound", "personalize", "01.000"),
        msg("inbound", "moving more", "02.000"),  # the one before got nothing
        msg("outbound", "Why?", "02.500"),
        msg("inbound", "energy", "03.000"),  # nor this one
    ]
    check = check_chat(chat)
    assert check.duplicated == ["Hello!"]
    assert check.lost == ["personalize", "energy"]
    assert check.latencies == [0.2, 0.5]
    report = LoadReport(1, 4, 3.0, sent=4, latencies=check.latencies)
    report.lost = [("15550000000", t) for t in check.lost]
    assert not report.ok
    assert "lost: 2  duplicated: 0" in report.render()


def test_percentiles_are_measured_values() -> None:
    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (
        50.0,
        95.0,
        99.0,
    )
    assert percentile([0.3], 99) == 0.3
    assert math.isnan(percentile([], 50))


def test_the_script_runs_through_the_intake_then_chats() -> None:
    assert script(3) == SCRIPT[:3]
    assert script(len(SCRIPT) + 2)[-2:] == [script(99)[-1]] * 2
