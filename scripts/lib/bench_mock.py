"""mock_whatsapp's throughput, alone: phones writing to an instant webhook receiver, and a
business sending Graph messages whose three statuses flow back, at several numbers of
concurrent phones; with, in the same run, the raw cost of as many signed webhook POSTs
made by a bare httpx client to the same receiver (the floor any Python fake pays).

Every process is real: Postgres (a throwaway cluster), the mock (`python -m mock_whatsapp`,
journal in Postgres), the receiver (a bare ASGI app under uvicorn, in its own process) and
this driver. `--mock-python PATH` runs the mock of another checkout (the interpreter of its
virtualenv, e.g. main's), to measure before and after in one sitting. Figures on a shared machine
move from run to run: compare the ratios to the baseline, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pgcluster

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bench-secret"
TOKEN = "bench-token"
NUMBER_ID = "100000000000001"
STATUS_DELAY = 0.05  # seconds between sent, delivered and read
PHASE_SECONDS = 120  # a phase sends no more after this long (a mock that cannot keep up)

RECEIVER = r'''
"""An instant webhook receiver: answers 200 at once and notes when each id arrived."""
import json, sys, time
import uvicorn

arrivals = {}  # "m:<wamid>" or "s:<wamid>:<status>" -> first arrival (monotonic)
duplicates = 0

async def app(scope, receive, send):
    global duplicates
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    out = b"ok"
    if scope["path"] == "/hook":
        now = time.monotonic()
        value = json.loads(body)["entry"][0]["changes"][0]["value"]
        keys = [f"m:{m['id']}" for m in value.get("messages", [])]
        keys += [f"s:{s['id']}:{s['status']}" for s in value.get("statuses", [])]
        for key in keys:
            if key in arrivals:
                duplicates += 1
            else:
                arrivals[key] = now
    elif scope["path"] == "/arrivals":
        out = json.dumps({"arrivals": arrivals, "duplicates": duplicates}).encode()
        if scope["method"] == "DELETE":
            arrivals.clear()
            duplicates = 0
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": out})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, loop="auto", http="auto")
'''


def free_port() -> int:
    return pgcluster.free_port()


def wait_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def arrivals(receiver: str, clear: bool = False) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        method = "DELETE" if clear else "GET"
        data: dict[str, Any] = (await client.request(method, f"{receiver}/arrivals")).json()
        return data


async def wait_for(receiver: str, keys: list[str], timeout: float) -> dict[str, float]:
    """The arrival times of `keys`, once all have arrived (or after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        seen = (await arrivals(receiver))["arrivals"]
        if all(k in seen for k in keys) or time.monotonic() > deadline:
            return {k: seen[k] for k in keys if k in seen}
        await asyncio.sleep(0.2)


def phones(count: int) -> list[str]:
    return [f"1555{n:07d}" for n in range(count)]


# Each phone (and each raw poster) has its own client and connection, as real phones do:
# one httpx pool shared by hundreds of requests in flight spends its time managing itself.
ONE = httpx.Limits(max_connections=1, max_keepalive_connections=1)


async def inbound(mock: str, receiver: str, concurrency: int, total: int) -> dict[str, Any]:
    """Phones each sending messages as fast as the mock answers; every message must reach
    the receiver as a webhook."""
    numbers = phones(concurrency)
    sent: dict[str, float] = {}
    answers: list[float] = []
    errors = 0
    begin = time.monotonic()
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=mock, limits=ONE, timeout=60)
            )
            for _ in numbers
        ]
        for number, client in zip(numbers, clients, strict=True):
            await client.post("/_mock/phones", json={"phone": number})
        await arrivals(receiver, clear=True)
        remaining = iter(range(total))

        async def phone(number: str, client: httpx.AsyncClient) -> None:
            nonlocal errors
            for n in remaining:
                if time.monotonic() > begin + PHASE_SECONDS:
                    return
                started = time.monotonic()
                try:
                    r = await client.post(
                        f"/_mock/phones/{number}/messages", json={"text": f"m{n}"}
                    )
                    r.raise_for_status()
                except httpx.HTTPError:
                    errors += 1
                    continue
                answers.append(time.monotonic() - started)
                sent[r.json()["id"]] = started

        begin = time.monotonic()
        await asyncio.gather(*(phone(n, c) for n, c in zip(numbers, clients, strict=True)))
        acked = time.monotonic() - begin
    got = await wait_for(receiver, [f"m:{w}" for w in sent], timeout=120)
    end = max(got.values()) if got else time.monotonic()
    latencies = [got[f"m:{w}"] - t for w, t in sent.items() if f"m:{w}" in got]
    return {
        "rate": len(got) / (end - begin),
        "ack_rate": len(sent) / acked,
        "p50": p(latencies, 50),
        "p99": p(latencies, 99),
        "answer_p99": p(answers, 99),
        "lost": len(sent) - len(got),
        "errors": errors,
        "sent": len(sent),
        "duplicates": (await arrivals(receiver))["duplicates"],
    }


async def sends(mock: str, receiver: str, concurrency: int, total: int) -> dict[str, Any]:
    """The business sends to many phones at once; each send's sent, delivered and read
    statuses must come back to the receiver."""
    numbers = phones(concurrency)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    sent: dict[str, float] = {}
    answers: list[float] = []
    errors = 0
    begin = time.monotonic()
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=mock, limits=ONE, timeout=60)
            )
            for _ in numbers
        ]
        client = clients[0]
        # Sends may go to phones that never wrote, at any pace: the limits are not measured.
        await client.put(
            "/_mock/limits",
            json={"window_24h": False, "throughput": False, "pair_rate_limit": False},
        )
        await arrivals(receiver, clear=True)
        remaining = iter(range(total))

        async def business(number: str, client: httpx.AsyncClient) -> None:
            nonlocal errors
            for n in remaining:
                if time.monotonic() > begin + PHASE_SECONDS:
                    return
                body = {
                    "messaging_product": "whatsapp",
                    "to": number,
                    "type": "text",
                    "text": {"body": f"reply {n}"},
                }
                started = time.monotonic()
                try:
                    r = await client.post(f"/v21.0/{NUMBER_ID}/messages", json=body, headers=auth)
                    r.raise_for_status()
                except httpx.HTTPError:
                    errors += 1
                    continue
                answers.append(time.monotonic() - started)
                sent[r.json()["messages"][0]["id"]] = started

        begin = time.monotonic()
        await asyncio.gather(*(business(n, c) for n, c in zip(numbers, clients, strict=True)))
        acked = time.monotonic() - begin
    keys = [f"s:{w}:{s}" for w in sent for s in ("sent", "delivered", "read")]
    got = await wait_for(receiver, keys, timeout=180)
    end = max(got.values()) if got else time.monotonic()
    read = [got[f"s:{w}:read"] - t for w, t in sent.items() if f"s:{w}:read" in got]
    complete = sum(all(f"s:{w}:{s}" in got for s in ("sent", "delivered", "read")) for w in sent)
    return {
        # Sends whose three statuses all came back, per second of the whole run.
        "rate": complete / (end - begin),
        "ack_rate": len(sent) / acked,
        "statuses_rate": len(got) / (end - begin),
        "answer_p99": p(answers, 99),
        # From the send to its `read` status, less the three status delays the mock waits.
        "p50": p(read, 50) - 3 * STATUS_DELAY,
        "p99": p(read, 99) - 3 * STATUS_DELAY,
        "lost": len(keys) - len(got),
        "errors": errors,
        "sent": len(sent),
        "duplicates": (await arrivals(receiver))["duplicates"],
    }


async def raw_posts(receiver: str, concurrency: int, total: int) -> dict[str, Any]:
    """The baseline: a bare httpx client signing and posting `total` webhooks."""
    latencies: list[float] = []
    await arrivals(receiver, clear=True)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(limits=ONE, timeout=60))
            for _ in range(concurrency)
        ]
        remaining = iter(range(total))

        async def poster(client: httpx.AsyncClient) -> None:
            for n in remaining:
                payload = {
                    "object": "whatsapp_business_account",
                    "entry": [
                        {
                            "id": "200000000000001",
                            "changes": [
                                {
                                    "field": "messages",
                                    "value": {
                                        "messaging_product": "whatsapp",
                                        "metadata": {"phone_number_id": NUMBER_ID},
                                        "messages": [
                                            {
                                                "from": "15550000000",
                                                "id": f"raw{n}",
                                                "type": "text",
                                                "text": {"body": f"m{n}"},
                                            }
                                        ],
                                    },
                                }
                            ],
                        }
                    ],
                }
                body = json.dumps(payload, separators=(",", ":")).encode()
                signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                started = time.monotonic()
                r = await client.post(
                    f"{receiver}/hook",
                    content=body,
                    headers={
                        "X-Hub-Signature-256": f"sha256={signature}",
                        "Content-Type": "application/json",
                    },
                )
                r.raise_for_status()
                latencies.append(time.monotonic() - started)

        begin = time.monotonic()
        await asyncio.gather(*(poster(c) for c in clients))
        seconds = time.monotonic() - begin
    return {"rate": total / seconds, "p99": p(latencies, 99)}


def run(args: argparse.Namespace) -> None:
    # Under the repository, where the postgres user may enter (a mkdtemp folder is 0700).
    work = ROOT / ".stack" / "bench-mock"
    subprocess.run(["rm", "-rf", str(work)], check=False)
    work.mkdir(parents=True)
    cluster = pgcluster.Cluster(work / "pg", free_port())
    cluster.init()
    cluster.start()
    try:
        database = cluster.create_database("mock_bench")
        receiver_port, mock_port = free_port(), free_port()
        receiver = f"http://127.0.0.1:{receiver_port}"
        mock = f"http://127.0.0.1:{mock_port}"
        (work / "receiver.py").write_text(RECEIVER)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        mock_env = {
            **env,
            "MOCK_WA_HOST": "127.0.0.1",
            "MOCK_WA_PORT": str(mock_port),
            "MOCK_WA_DATABASE_URL": database,
            "MOCK_WA_WEBHOOK_URL": f"{receiver}/hook",
            "MOCK_WA_APP_SECRET": SECRET,
            "MOCK_WA_ACCESS_TOKEN": TOKEN,
            "MOCK_WA_PHONE_NUMBER_ID": NUMBER_ID,
            "MOCK_WA_STATUS_DELAY_SECONDS": str(STATUS_DELAY),
            "MOCK_WA_LOG_LEVEL": "warning",
        }
        python = sys.executable
        with (
            process(
                [python, str(work / "receiver.py"), str(receiver_port)], env, work / "receiver.log"
            ),
            process(
                [args.mock_python or python, "-m", "mock_whatsapp"], mock_env, work / "mock.log"
            ) as mock_proc,
        ):
            wait_up(f"{receiver}/arrivals")
            wait_up(f"{mock}/readyz")
            print(
                f"mock_whatsapp run by {args.mock_python or python}; "
                "figures taken on this machine as it is (shared: compare ratios)"
            )
            header = (
                f"{'phones':>6} {'what':<28} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} "
                f"{'x raw':>6} {'lost':>5} {'dup':>4} {'mock cpu s/1000':>16}"
            )
            print(header)
            for concurrency in args.phones:
                total = args.messages
                raw = asyncio.run(raw_posts(receiver, concurrency, total))
                print(
                    f"{concurrency:>6} {'raw signed POSTs (httpx)':<28} {raw['rate']:>8.0f} "
                    f"{'':>8} {raw['p99'] * 1000:>8.1f}"
                )
                cpu = cpu_seconds(mock_proc.pid)
                got = asyncio.run(inbound(mock, receiver, concurrency, total))
                cpu = cpu_seconds(mock_proc.pid) - cpu
                print(
                    f"{concurrency:>6} {'inbound messages → webhook':<28} {got['rate']:>8.0f} "
                    f"{got['p50'] * 1000:>8.1f} {got['p99'] * 1000:>8.1f} "
                    f"{got['rate'] / raw['rate']:>6.2f} {got['lost']:>5} "
                    f"{got['duplicates']:>4} {got['errors']:>6} "
                    f"{cpu / max(1, got['sent']) * 1000:>16.2f}"
                )
                cpu = cpu_seconds(mock_proc.pid)
                out = asyncio.run(sends(mock, receiver, concurrency, total))
                cpu = cpu_seconds(mock_proc.pid) - cpu
                # Each send makes three status webhooks: the raw ratio counts all four calls.
                print(
                    f"{concurrency:>6} {'Graph sends + 3 statuses':<28} {out['rate']:>8.0f} "
                    f"{out['p50'] * 1000:>8.1f} {out['p99'] * 1000:>8.1f} "
                    f"{out['rate'] * 3 / raw['rate']:>6.2f} {out['lost']:>5} "
                    f"{out['duplicates']:>4} {out['errors']:>6} "
                    f"{cpu / max(1, out['sent']) * 1000:>16.2f}"
                )
                print(
                    f"{'':>6} {'  (send answers)':<28} {out['ack_rate']:>8.0f} {'':>8} "
                    f"{out['answer_p99'] * 1000:>8.1f}"
                )
                verdicts.append((concurrency, got["rate"], out["rate"]))
        for concurrency, inbound_rate, send_rate in verdicts:
            ok_in = "met" if inbound_rate >= 1000 else "NOT met"
            ok_out = "met" if send_rate >= 500 else "NOT met"
            print(
                f"targets at {concurrency} phones: >= 1,000 inbound/s {ok_in} "
                f"({inbound_rate:.0f}); >= 500 sends/s with statuses {ok_out} ({send_rate:.0f})"
            )
    finally:
        cluster.stop()
        subprocess.run(["rm", "-rf", str(work)], check=False)


verdicts: list[tuple[int, float, float]] = []


def main() -> None:
    # Stopped (a timeout, ^C in another terminal): run the `finally`s, which stop what
    # this started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--phones",
        type=int,
        nargs="+",
        default=[50, 500],
        help="concurrent phones, one run each (50 500)",
    )
    parser.add_argument(
        "--messages", type=int, default=5000, help="messages each way per run (5000)"
    )
    parser.add_argument("--mock-python", help="the Python of another checkout's virtualenv")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
