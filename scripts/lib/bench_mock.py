"""mock_whatsapp's throughput, alone: phones writing to an instant webhook receiver, and a
business sending Graph messages whose three statuses flow back, at several numbers of
concurrent phones; with, in the same run, the raw cost of as many signed webhook POSTs
made by a bare client to the same receiver (the floor any Python fake pays): httpx, and
aiohttp (what the mock posts with; the ratio is to it).

Every process is real: Postgres (a throwaway cluster), the mock (`python -m mock_whatsapp`,
journal in Postgres), the receiver (a bare ASGI app under uvicorn, in its own process) and
this driver. The harness shares the machine's cores with the mock, so it is made cheap:
the driver plays every phone and the business through aiohttp over kept-alive connections
(one per phone in flight, as real phones have; httpx cost the driver about as much CPU
per request as the mock spent on the whole message), bodies are orjson, and the receiver
answers from a raw ASGI callable. Each row prints the CPU seconds per 1,000 messages of
the mock, the driver and the receiver, so that the harness's share is seen.

`--mock-python PATH` runs the mock of another checkout (the interpreter of its
virtualenv, e.g. main's), and `--mock-src DIR` the mock_whatsapp sources under DIR with
this virtualenv, to measure before and after in one sitting. Figures on a shared machine
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

import aiohttp
import httpx
import orjson
import uvloop

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
import orjson, uvicorn

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
        value = orjson.loads(body)["entry"][0]["changes"][0]["value"]
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
    async with aiohttp.ClientSession() as session:
        method = "DELETE" if clear else "GET"
        async with session.request(method, f"{receiver}/arrivals") as r:
            data: dict[str, Any] = orjson.loads(await r.read())
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


def session(concurrency: int) -> aiohttp.ClientSession:
    """Kept-alive connections, as many as requests in flight (one per phone, as real
    phones have); a phase opens its own, so none is reused after the mock closed it idle."""
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    return aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60), raise_for_status=True
    )


JSON = {"Content-Type": "application/json"}


async def inbound(mock: str, receiver: str, concurrency: int, total: int) -> dict[str, Any]:
    """Phones each sending messages as fast as the mock answers; every message must reach
    the receiver as a webhook."""
    numbers = phones(concurrency)
    sent: dict[str, float] = {}
    answers: list[float] = []
    errors = 0
    begin = time.monotonic()
    async with session(concurrency) as client:
        for number in numbers:
            # 409 for a phone an earlier run made: it is there, which is all that counts.
            async with client.post(
                f"{mock}/_mock/phones",
                data=orjson.dumps({"phone": number}),
                headers=JSON,
                raise_for_status=False,
            ):
                pass
        await arrivals(receiver, clear=True)
        remaining = iter(range(total))

        async def phone(number: str) -> None:
            nonlocal errors
            url = f"{mock}/_mock/phones/{number}/messages"
            for n in remaining:
                if time.monotonic() > begin + PHASE_SECONDS:
                    return
                started = time.monotonic()
                try:
                    async with client.post(
                        url, data=orjson.dumps({"text": f"m{n}"}), headers=JSON
                    ) as r:
                        answer = orjson.loads(await r.read())
                except aiohttp.ClientError:
                    errors += 1
                    continue
                answers.append(time.monotonic() - started)
                sent[answer["id"]] = started

        begin = time.monotonic()
        await asyncio.gather(*(phone(n) for n in numbers))
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
    headers = {"Authorization": f"Bearer {TOKEN}", **JSON}
    sent: dict[str, float] = {}
    answers: list[float] = []
    errors = 0
    begin = time.monotonic()
    async with session(concurrency) as client:
        # Sends may go to phones that never wrote, at any pace: the limits are not measured.
        limits = {"window_24h": False, "throughput": False, "pair_rate_limit": False}
        async with client.put(f"{mock}/_mock/limits", data=orjson.dumps(limits), headers=JSON):
            pass
        await arrivals(receiver, clear=True)
        remaining = iter(range(total))
        url = f"{mock}/v21.0/{NUMBER_ID}/messages"

        async def business(number: str) -> None:
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
                    async with client.post(url, data=orjson.dumps(body), headers=headers) as r:
                        answer = orjson.loads(await r.read())
                except aiohttp.ClientError:
                    errors += 1
                    continue
                answers.append(time.monotonic() - started)
                sent[answer["messages"][0]["id"]] = started

        begin = time.monotonic()
        await asyncio.gather(*(business(n) for n in numbers))
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


def raw_webhook(n: int) -> tuple[bytes, dict[str, str]]:
    """A signed inbound-message webhook as the mock would post it, and its headers."""
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
    return body, {"X-Hub-Signature-256": f"sha256={signature}", **JSON}


async def raw_posts_httpx(receiver: str, concurrency: int, total: int) -> dict[str, Any]:
    """A baseline: a bare httpx client signing and posting `total` webhooks (one client
    and connection per request in flight: a shared httpx pool costs more)."""
    latencies: list[float] = []
    await arrivals(receiver, clear=True)
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    cpu = process_cpu()
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(limits=one, timeout=60))
            for _ in range(concurrency)
        ]
        remaining = iter(range(total))

        async def poster(client: httpx.AsyncClient) -> None:
            for n in remaining:
                body, headers = raw_webhook(n)
                started = time.monotonic()
                r = await client.post(f"{receiver}/hook", content=body, headers=headers)
                r.raise_for_status()
                latencies.append(time.monotonic() - started)

        begin = time.monotonic()
        await asyncio.gather(*(poster(c) for c in clients))
        seconds = time.monotonic() - begin
    return {"rate": total / seconds, "p99": p(latencies, 99), "cpu": process_cpu() - cpu}


async def raw_posts_aiohttp(receiver: str, concurrency: int, total: int) -> dict[str, Any]:
    """The baseline the ratios use: a bare aiohttp session (what the mock posts with)
    signing and posting `total` webhooks over `concurrency` kept-alive connections."""
    latencies: list[float] = []
    await arrivals(receiver, clear=True)
    cpu = process_cpu()
    async with session(concurrency) as client:
        remaining = iter(range(total))

        async def poster() -> None:
            for n in remaining:
                body, headers = raw_webhook(n)
                started = time.monotonic()
                async with client.post(f"{receiver}/hook", data=body, headers=headers) as r:
                    await r.read()
                latencies.append(time.monotonic() - started)

        begin = time.monotonic()
        await asyncio.gather(*(poster() for _ in range(concurrency)))
        seconds = time.monotonic() - begin
    return {"rate": total / seconds, "p99": p(latencies, 99), "cpu": process_cpu() - cpu}


def process_cpu() -> float:
    """This process's CPU seconds so far (user + system)."""
    return time.process_time()


def run(args: argparse.Namespace) -> None:
    # Under the repository, where the postgres user may enter (a mkdtemp folder is 0700).
    work = ROOT / ".stack" / "bench-mock"
    subprocess.run(["rm", "-rf", str(work)], check=False)
    work.mkdir(parents=True)
    cluster = pgcluster.Cluster(work / "pg", pgcluster.free_port())
    cluster.init()
    cluster.start()
    try:
        database = cluster.create_database("mock_bench")
        receiver_port, mock_port = pgcluster.free_port(), pgcluster.free_port()
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
        which = args.mock_python or sys.executable
        if args.mock_src:
            # Ahead of the virtualenv's own (editable) mock_whatsapp.
            source = Path(args.mock_src).resolve() / "mock_whatsapp" / "src"
            mock_env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(source), env.get("PYTHONPATH", "")) if p
            )
            which = f"{which} with the mock of {source}"
        python = sys.executable
        with (
            process(
                [python, str(work / "receiver.py"), str(receiver_port)], env, work / "receiver.log"
            ) as receiver_proc,
            process(
                [args.mock_python or python, "-m", "mock_whatsapp"], mock_env, work / "mock.log"
            ) as mock_proc,
        ):
            wait_up(f"{receiver}/arrivals")
            wait_up(f"{mock}/readyz")
            print(
                f"mock_whatsapp run by {which}; "
                "figures taken on this machine as it is (shared: compare ratios)"
            )
            print(
                f"{'phones':>6} {'what':<28} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} "
                f"{'x raw':>6} {'lost':>5} {'dup':>4} {'err':>4}  "
                "CPU s/1000: mock driver receiver"
            )

            def measured(phase: Any) -> tuple[dict[str, Any], str]:
                """Run a phase; its figures and the CPU per 1,000 of each process."""
                pids = (mock_proc.pid, receiver_proc.pid)
                before = [cpu_seconds(pid) for pid in pids] + [process_cpu()]
                got: dict[str, Any] = uvloop.run(phase)
                after = [cpu_seconds(pid) for pid in pids] + [process_cpu()]
                mock_cpu, receiver_cpu, driver_cpu = (
                    (b - a) / max(1, got["sent"]) * 1000 for a, b in zip(before, after, strict=True)
                )
                return got, f"{mock_cpu:>6.2f} {driver_cpu:>6.2f} {receiver_cpu:>8.2f}"

            for concurrency in args.phones:
                total = args.messages
                raw_x = uvloop.run(raw_posts_httpx(receiver, concurrency, total))
                raw = uvloop.run(raw_posts_aiohttp(receiver, concurrency, total))
                for name, figures in (("httpx", raw_x), ("aiohttp", raw)):
                    print(
                        f"{concurrency:>6} {f'raw signed POSTs ({name})':<28} "
                        f"{figures['rate']:>8.0f} {'':>8} {figures['p99'] * 1000:>8.1f} "
                        f"{'':>6} {'':>5} {'':>4} {'':>4}  "
                        f"{'':>6} {figures['cpu'] / total * 1000:>6.2f}"
                    )
                got, cpu = measured(inbound(mock, receiver, concurrency, total))
                print(
                    f"{concurrency:>6} {'inbound messages → webhook':<28} {got['rate']:>8.0f} "
                    f"{got['p50'] * 1000:>8.1f} {got['p99'] * 1000:>8.1f} "
                    f"{got['rate'] / raw['rate']:>6.2f} {got['lost']:>5} "
                    f"{got['duplicates']:>4} {got['errors']:>4}  {cpu}"
                )
                out, cpu = measured(sends(mock, receiver, concurrency, total))
                # Each send makes three status webhooks: the raw ratio counts all four calls.
                print(
                    f"{concurrency:>6} {'Graph sends + 3 statuses':<28} {out['rate']:>8.0f} "
                    f"{out['p50'] * 1000:>8.1f} {out['p99'] * 1000:>8.1f} "
                    f"{out['rate'] * 3 / raw['rate']:>6.2f} {out['lost']:>5} "
                    f"{out['duplicates']:>4} {out['errors']:>4}  {cpu}"
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
    parser.add_argument(
        "--mock-src", help="another checkout (or `git archive` of one) whose mock_whatsapp to run"
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
