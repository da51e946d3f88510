"""The cost of shadow mode on the primary's replies (scripts/bench-shadow).

A private native stack (its own Postgres cluster, free ports) runs the primary and the
candidate agent. Participants chat through the whole path: the mock's phone sends, the
signed webhook reaches delivery, the primary answers, the outbox sends, the reply lands
in the phone's chat. Reply latency is from the send to the reply in the chat.

Rounds alternate shadow off and on in an ABBA order (off, on, on, off, ...), so that drift
(a warming cache, a neighbour's load) and the conversation's progress weigh on both alike;
in each round every participant says one thing, all at once. The figures printed are per
mode, with the ratios on/off: the overhead. With shadow on, the candidate also answers
each turn after the primary has, off the reply's path; what it costs the reply is the CPU
and database it competes for, on the same machine here.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from stack import NativeStack, Ports

ROOT = Path(__file__).resolve().parents[2]
# What each participant says, round after round: the intake, then the feedback loop.
SCRIPT = [
    "Hello!",
    "personalize",
    "moving more",
    "more energy",
    "my morning coffee",
    "7:30am",
    "nothing else",
    "no",
    "Done",
    "It was easy after coffee",
    "Next time",
    "I overslept",
]


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def reply_latency(
    http: httpx.AsyncClient, stack: NativeStack, phone: str, text: str
) -> float:
    """Seconds from the phone's send to the business's reply in its chat."""
    mock = stack.url("mock_whatsapp")
    chat = f"{mock}/_mock/phones/{phone}/messages"
    before = sum(1 for m in (await http.get(chat)).json() if m["direction"] == "outbound")
    started = time.perf_counter()
    (await http.post(chat, json={"text": text})).raise_for_status()
    deadline = started + 60
    while time.perf_counter() < deadline:
        outbound = [m for m in (await http.get(chat)).json() if m["direction"] == "outbound"]
        if len(outbound) > before:
            return time.perf_counter() - started
        await asyncio.sleep(0.005)
    raise TimeoutError(f"no reply to {text!r} within 60 s")


async def bench(stack: NativeStack, participants: int, rounds: int) -> None:
    delivery = stack.url("delivery")
    async with httpx.AsyncClient(timeout=30) as http:
        phones = [f"1555990{i:04d}" for i in range(participants)]
        for phone in phones:
            resp = await http.post(
                f"{delivery}/conversation/participants",
                json={"phone_number": phone, "name": "Bench", "timezone": "Europe/London"},
            )
            resp.raise_for_status()
        # Warm up: one turn each, shadow off, not counted.
        await asyncio.gather(*(reply_latency(http, stack, p, "Hi") for p in phones))
        samples: dict[bool, list[float]] = {False: [], True: []}
        order = [False, True, True, False] * ((rounds + 3) // 4)
        for n, shadow in enumerate(order[:rounds]):
            await http.put(f"{delivery}/dev/migration/shadow", json={"enabled": shadow})
            text = SCRIPT[n % len(SCRIPT)]
            got = await asyncio.gather(*(reply_latency(http, stack, p, text) for p in phones))
            samples[shadow].extend(got)
            print(
                f"round {n + 1:2d} shadow {'on ' if shadow else 'off'}: "
                f"median {statistics.median(got) * 1000:6.0f} ms",
                flush=True,
            )
        await asyncio.sleep(2)  # the last shadow turns finish
        report = (await http.get(f"{delivery}/dev/migration")).json()["result"]
    compared = report["shadow"]["outcomes"]
    print()
    print(f"{'':18}{'turns':>7}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for shadow in (False, True):
        got = samples[shadow]
        print(
            f"shadow {'on ' if shadow else 'off'}{'':8}{len(got):7d}"
            f"{percentile(got, 50) * 1000:10.0f}{percentile(got, 99) * 1000:10.0f}"
            f"{statistics.mean(got) * 1000:10.0f}"
        )
    off, on = samples[False], samples[True]
    print(
        f"overhead (on/off): p50 x{percentile(on, 50) / percentile(off, 50):.2f}, "
        f"p99 x{percentile(on, 99) / percentile(off, 99):.2f}, "
        f"mean x{statistics.mean(on) / statistics.mean(off):.2f}"
    )
    print(f"shadow turns compared: {compared}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=8, help="chatting at once (8)")
    parser.add_argument("--rounds", type=int, default=12, help="rounds, ABBA off/on (12)")
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="bench-shadow-", dir=ROOT / ".stack"))
    state.chmod(0o755)  # run as root, the cluster's own user must reach its folder
    stack = NativeStack(
        state,
        Ports.free(),
        overrides={
            "STACK_CANDIDATE": "true",
            "DEV_CLOCK": "true",
            "AGENT_API_TOKEN": "bench-agent-token",
            "MOCK_WA_STATUS_DELAY_SECONDS": "0.05",
            "DELIVERY_LOG_LEVEL": "warn",
            "AGENT_LOG_LEVEL": "warning",
            "MOCK_WA_LOG_LEVEL": "warning",
        },
    )
    print(
        f"stack under {state} (delivery :{stack.ports.delivery}); figures under any load the "
        "machine has: compare the ratios, not the milliseconds",
        flush=True,
    )
    try:
        stack.up()
        asyncio.run(bench(stack, args.participants, args.rounds))
    finally:
        stack.down()
        shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
