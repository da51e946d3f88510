"""The load test's bookkeeping: chats checked message by message, times of day that keep
timers out of a run, the summary, and the Locust command `simulator load` builds."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from promptpipe_simulator.cli import build_parser, locust_command
from promptpipe_simulator.core.clients import ChatMessage
from promptpipe_simulator.core.load import (
    LoadSummary,
    check_chat,
    far_time,
    percentile,
    timezone_far_from,
)
from promptpipe_simulator.core.load_run import Mix, mix_from, option_argv
from promptpipe_simulator.core.replies import FALLBACK_APOLOGY


def msg(direction: str, text: str, at: str, day: str = "01", hour: str = "12") -> ChatMessage:
    data = {"id": f"wamid.{text}", "direction": direction, "text": text}
    return ChatMessage.model_validate({**data, "timestamp": f"2026-01-{day}T{hour}:00:{at}Z"})


def test_each_message_paired_with_its_one_reply() -> None:
    chat = [
        msg("inbound", "Hello!", "00.000"),
        msg("outbound", "Hi there!", "00.250"),
        msg("inbound", "personalize", "01.000"),
        msg("outbound", "What habit?", "01.100"),
    ]
    check = check_chat(chat)
    assert check.latencies == [0.25, 0.1]
    assert check.ok


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
    assert not check.ok


def test_an_apology_is_a_reply_counted_apart_and_the_late_answer_after_it_no_duplicate() -> None:
    chat = [
        msg("inbound", "Hello!", "00.000"),
        msg("outbound", FALLBACK_APOLOGY, "03.000"),  # the agent could not be reached
        msg("outbound", "Hi there!", "09.000"),  # it came back and answered late
        msg("inbound", "personalize", "10.000"),
        msg("outbound", FALLBACK_APOLOGY, "13.000"),
        msg("outbound", "What habit?", "20.000"),
        msg("outbound", "What habit?", "20.500"),  # but this one is sent twice
    ]
    check = check_chat(chat)
    assert check.fallbacks == ["Hello!", "personalize"]
    assert check.late == ["Hello!", "personalize"]
    assert check.duplicated == ["personalize"]
    assert check.lost == []


def test_a_late_answer_quoting_its_message_belongs_to_it_even_after_the_next_one() -> None:
    hello = msg("inbound", "Hello!", "00.000")
    late = msg("outbound", "Hi there!", "09.100")
    late.context_id = hello.id  # delivery quotes the message a late answer is for
    chat = [
        hello,
        msg("outbound", FALLBACK_APOLOGY, "03.000"),
        msg("inbound", "personalize", "09.000"),  # written just before the late answer
        late,
        msg("outbound", "What habit?", "09.500"),
    ]
    check = check_chat(chat)
    assert check.ok and check.fallbacks == ["Hello!"] and check.late == ["Hello!"]
    assert check.latencies == [3.0, 0.5]


def test_messages_after_a_clock_move_are_due_jobs_and_jumps_are_not_latency() -> None:
    chat = [
        msg("inbound", "Thanks!", "00.000"),
        msg("outbound", "See you tomorrow", "00.100"),
        msg("outbound", "Time for your habit!", "00.000", day="02", hour="07"),
        msg("inbound", "Done", "00.000", day="02", hour="08"),
        msg("outbound", "What helped?", "00.300", day="02", hour="09"),  # the clock moved 1 h
    ]
    moves = [
        (datetime(2026, 1, 2, 7, 0, tzinfo=UTC), 68400.0),
        (datetime(2026, 1, 2, 9, 0, 0, 200000, tzinfo=UTC), 3600.0),
    ]
    check = check_chat(chat, moves)
    assert check.ok
    assert check.latencies[0] == 0.1
    assert math.isclose(check.latencies[1], 0.3)
    # Without the moves, the prompt would be a second reply to "Thanks!".
    assert check_chat(chat).duplicated == ["Thanks!"]


def test_percentiles_are_measured_values() -> None:
    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (
        50.0,
        95.0,
        99.0,
    )
    assert percentile([0.3], 99) == 0.3
    assert math.isnan(percentile([], 50))


def test_times_of_day_are_chosen_far_from_now() -> None:
    now = datetime(2026, 1, 1, 10, 50, tzinfo=UTC)
    assert far_time(now, "Europe/London") == "22:50"
    assert far_time(now, "Asia/Kolkata") == "4:20"
    rng = random.Random(1)
    for _ in range(20):
        zone = timezone_far_from(now, "11:05", rng)
        local = now.astimezone(ZoneInfo(zone))
        minutes = abs(local.hour * 60 + local.minute - (11 * 60 + 5))
        assert min(minutes, 1440 - minutes) >= 180


def test_the_summary_says_what_was_sent_answered_and_missed() -> None:
    summary = LoadSummary(participants=3, seconds=2.0, sent=27, replied=26, chats_checked=3)
    summary.latency_ms = {50: 91.0, 95: 164.0, 99: 184.0}
    summary.lost = ["+15550000001 'personalize'"]
    text = summary.render()
    assert "3 participants: 27 sent, 26 replied in 2.0s (13.0 replies/s)" in text
    assert "median 91 ms  p95 164 ms  p99 184 ms" in text
    assert "lost: 1  duplicated: 0" in text and "lost: +15550000001 'personalize'" in text
    assert not summary.ok
    assert "fallbacks" not in text
    assert LoadSummary(participants=1, seconds=1.0, sent=1, replied=1).ok
    apologised = LoadSummary(participants=1, seconds=1.0, sent=3, replied=1, fallbacks=2)
    apologised.late_replies = 1
    assert "fallbacks (delivery's fallback, the agent unreachable): 2" in apologised.render()
    assert "late replies from the agent after one: 1" in apologised.render()
    assert apologised.ok  # an apology is a reply: nothing was lost


def test_without_time_travel_nobody_waits_for_a_daily_prompt() -> None:
    class Options:
        small_talk = 2.0
        daily_prompts = 3.0
        clock_every = 0.0

    assert mix_from(Options()) == Mix(small_talk=2.0, daily_prompts=0.0)
    Options.clock_every = 5.0
    assert mix_from(Options()).daily_prompts == 3.0


def locust(*argv: str) -> list[str]:
    return locust_command(build_parser().parse_args(["load", *argv]))


def test_simulator_load_runs_locust_headless_or_with_its_web_ui() -> None:
    command = locust("--participants", "20", "--duration", "30s", "--silent", "0")
    assert command[1:3] == ["-m", "locust"] and command[4].endswith("core/locustfile.py")
    assert command[5:] == [
        "--users", "20", "--spawn-rate", "10", "--headless", "--run-time", "30s",
        "--only-summary", "--silent", "0.0",
    ]  # fmt: skip
    web = locust("--web", "--processes", "2", "--html", "r.html", "--", "--csv", "x")
    assert "--headless" not in web
    assert web[web.index("--web-host") + 1] == "127.0.0.1"
    assert web[web.index("--processes") + 1] == "2" and web[-2:] == ["--csv", "x"]
    worker = locust("--worker", "--master-host", "10.0.0.5")
    assert worker[5:] == ["--worker", "--master-host", "10.0.0.5"]
    master = locust("--master", "--expect-workers", "4")
    assert master[master.index("--expect-workers") + 1] == "4"


def test_participant_options_pass_through_only_when_changed() -> None:
    import argparse

    from promptpipe_simulator.core.load_run import add_options

    parser = argparse.ArgumentParser()
    add_options(parser)
    assert option_argv(parser.parse_args([])) == []
    options = parser.parse_args(["--clock-every", "5", "--try-now", "0", "--cleanup"])
    assert option_argv(options) == ["--try-now", "0.0", "--clock-every", "5.0", "--cleanup"]
