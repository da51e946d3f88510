"""The mock as a process over its own Postgres, when things go wrong: Postgres restarts
under it, it is killed while messages and statuses are in flight, a listener of its event
stream stops reading. Real processes, real HTTP, real signatures."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pgcluster
import pytest

from .conftest import PHONE_NUMBER_ID, SECRET, TOKEN, Webhooks

AUTH = {"Authorization": f"Bearer {TOKEN}"}
WABA_ID = "200000000000001"  # the default number's account (MOCK_WA_WABA_ID's default)

# Real processes and a Postgres that is stopped and restarted: not for `scripts/test --fast`.
pytestmark = pytest.mark.e2e


@pytest.fixture
def cluster() -> Iterator[pgcluster.Cluster]:
    """A Postgres of this test's own, which it may stop and start."""
    workdir = Path(tempfile.mkdtemp(prefix="mock-pg-"))
    os.chmod(workdir, 0o755)
    cluster = pgcluster.Cluster(workdir / "data", pgcluster.free_port())
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


class Mock:
    """`python -m mock_whatsapp` on a fixed port, which a test may kill and start again."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = pgcluster.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MOCK_WA_")},
            "MOCK_WA_HOST": "127.0.0.1",
            "MOCK_WA_PORT": str(self.port),
            "MOCK_WA_APP_SECRET": SECRET,
            "MOCK_WA_ACCESS_TOKEN": TOKEN,
            "MOCK_WA_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "MOCK_WA_STATUS_DELAY_SECONDS": "0.05",
            "MOCK_WA_WEBHOOK_MAX_BACKOFF_SECONDS": "0.5",
            **env,
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mock_whatsapp"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            assert self.process is not None and self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "the mock did not become ready"
            time.sleep(0.1)

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=3).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@pytest.fixture
def mock(
    cluster: pgcluster.Cluster, webhooks: tuple[Webhooks, str], tmp_path: Path
) -> Iterator[Mock]:
    database = cluster.create_database("mock")
    mock = Mock(
        {"MOCK_WA_DATABASE_URL": database, "MOCK_WA_WEBHOOK_URL": webhooks[1]},
        tmp_path / "mock.log",
    )
    mock.start()
    try:
        yield mock
    finally:
        mock.stop()


def inbound(received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        m
        for p in received
        for e in p["entry"]
        for c in e["changes"]
        for m in c["value"].get("messages", [])
    ]


def statuses(received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        s
        for p in received
        for e in p["entry"]
        for c in e["changes"]
        for s in c["value"].get("statuses", [])
    ]


def text(number: str, body: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": number, "type": "text", "text": {"body": body}}


def until(condition: Any, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} never came true"
        time.sleep(0.05)


def test_the_mock_heals_after_postgres_restarts_and_a_failed_write_changes_nothing(
    cluster: pgcluster.Cluster, mock: Mock, webhooks: tuple[Webhooks, str]
) -> None:
    got, _ = webhooks
    phone = "15551230001"
    with httpx.Client(base_url=mock.url, timeout=30) as client:
        assert client.post(f"/_mock/phones/{phone}/messages", json={"text": "before"}).is_success
        assert client.post(
            f"/v21.0/{PHONE_NUMBER_ID}/messages", json=text(phone, "one"), headers=AUTH
        ).is_success
        until(lambda: "before" in got.texts(), what="the first webhook")

        cluster.stop(mode="immediate")  # Postgres crashes
        assert client.get("/readyz").status_code == 503  # not ready without its database
        refused = client.post(f"/_mock/phones/{phone}/messages", json={"text": "lost?"})
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "unavailable"
        send = client.post(
            f"/v21.0/{PHONE_NUMBER_ID}/messages", json=text(phone, "twice?"), headers=AUTH
        )
        assert send.status_code >= 500 and "error" in send.json()
        # Neither is in the chat: a caller told "failed" retries, and must not find it done.
        chat = [m["text"] for m in client.get(f"/_mock/phones/{phone}/messages").json()]
        assert chat == ["before", "one"]

        cluster.start()  # back, with nobody restarting the mock
        until(mock.ready, timeout=30, what="the mock ready again")
        after = client.post(f"/_mock/phones/{phone}/messages", json={"text": "after"})
        assert after.status_code == 201
        reply = client.post(
            f"/v21.0/{PHONE_NUMBER_ID}/messages", json=text(phone, "two"), headers=AUTH
        )
        assert reply.status_code == 200
        wamid = reply.json()["messages"][0]["id"]
        until(lambda: "after" in got.texts(), what="the webhook after the restart")
        until(
            lambda: any(s["id"] == wamid and s["status"] == "read" for s in statuses(got.received)),
            what="the reply read",
        )
        chat = [m["text"] for m in client.get(f"/_mock/phones/{phone}/messages").json()]
    assert chat == ["before", "one", "after", "two"]
    assert "lost?" not in got.texts()
    # What the phone shows after a restart of the mock is what it showed before.
    mock.stop()
    mock.start()
    with httpx.Client(base_url=mock.url, timeout=30) as client:
        kept = [m["text"] for m in client.get(f"/_mock/phones/{phone}/messages").json()]
    assert kept == chat


def test_templates_heal_with_the_journal_and_a_refused_change_changes_nothing(
    cluster: pgcluster.Cluster, mock: Mock
) -> None:
    """Templates are written by the journal like everything else: while Postgres is down a
    creation, a deletion or a review decision is refused and changes nothing; once it is
    back they are kept, across a restart of the mock too."""
    path = f"/v21.0/{WABA_ID}/message_templates"

    def submission(name: str) -> dict[str, Any]:
        body = [{"type": "BODY", "text": f"This is {name}."}]
        return {"name": name, "language": "en", "category": "UTILITY", "components": body}

    def names(client: httpx.Client) -> dict[str, str]:
        listed = client.get(path, params={"fields": "name,status"}, headers=AUTH).json()
        return {t["name"]: t["status"] for t in listed["data"]}

    with httpx.Client(base_url=mock.url, timeout=30) as client:
        kept = client.post(path, json=submission("kept_one"), headers=AUTH).json()["id"]
        cluster.stop(mode="immediate")
        refused = client.post(path, json=submission("while_down"), headers=AUTH)
        assert refused.status_code == 503 and refused.json()["error"]["code"] == 131016
        gone = client.delete(path, params={"name": "hello_world"}, headers=AUTH)
        assert gone.status_code == 503
        decided = client.post(f"/_mock/templates/{kept}/review", json={"status": "REJECTED"})
        assert decided.status_code == 503 and decided.json()["error"]["code"] == "unavailable"
        assert names(client) | {"kept_one": "PENDING"} == names(client)
        assert "while_down" not in names(client) and "hello_world" in names(client)

        cluster.start()
        until(mock.ready, timeout=30, what="the mock ready again")
        assert client.post(path, json=submission("after"), headers=AUTH).status_code == 200
        assert client.delete(path, params={"name": "hello_world"}, headers=AUTH).is_success
        decided = client.post(f"/_mock/templates/{kept}/review", json={"status": "REJECTED"})
        assert decided.status_code == 200
        before_restart = names(client)
    mock.stop()
    mock.start()
    with httpx.Client(base_url=mock.url, timeout=30) as client:
        assert names(client) == before_restart
    assert before_restart["kept_one"] == "REJECTED" and before_restart["after"] == "PENDING"
    assert "hello_world" not in before_restart and "while_down" not in before_restart


async def test_sigkill_under_load_loses_nothing_acknowledged_and_ids_never_change(
    mock: Mock, webhooks: tuple[Webhooks, str]
) -> None:
    got, _ = webhooks
    phones = [f"1555124{n:04d}" for n in range(20)]
    written: dict[str, str] = {}  # text a phone sent -> wamid the mock acknowledged
    replied: dict[str, str] = {}  # text the business sent -> wamid the mock acknowledged
    async with httpx.AsyncClient(base_url=mock.url, timeout=10) as client:
        for number in phones:  # each phone writes first: its 24-hour window opens
            sent = await client.post(f"/_mock/phones/{number}/messages", json={"text": number})
            written[number] = sent.json()["id"]

        async def phone(number: str, n: int) -> None:
            words = f"{number} says {n}"
            try:
                r = await client.post(f"/_mock/phones/{number}/messages", json={"text": words})
                if r.status_code == 201:
                    written[words] = r.json()["id"]
                r = await client.post(
                    f"/v21.0/{PHONE_NUMBER_ID}/messages",
                    json=text(number, f"to {words}"),
                    headers=AUTH,
                )
                if r.status_code == 200:
                    replied[f"to {words}"] = r.json()["messages"][0]["id"]
            except httpx.HTTPError:
                pass  # the mock died before answering: not acknowledged

        async def load(start: int) -> None:
            for n in range(start, start + 15):
                await asyncio.gather(*(phone(p, n) for p in phones))

        loading = asyncio.create_task(load(0))
        while len(replied) < 60:  # statuses and webhooks are now in flight
            await asyncio.sleep(0.01)
        assert mock.process is not None
        os.kill(mock.process.pid, signal.SIGKILL)
        await loading
        mock.stop()
        await asyncio.to_thread(mock.start)
        await load(100)  # and it goes on after the restart

        def settled() -> bool:
            seen = {m["id"] for m in inbound(got.received)}
            read = {s["id"] for s in statuses(got.received) if s["status"] == "read"}
            return set(written.values()) <= seen and set(replied.values()) <= read

        await asyncio.to_thread(until, settled, 90, "every acknowledged message delivered")
        chats = {
            number: (await client.get(f"/_mock/phones/{number}/messages")).json()
            for number in phones
        }
    in_chats = {m["text"]: m["id"] for chat in chats.values() for m in chat}
    for words, wamid in {**written, **replied}.items():
        assert in_chats.get(words) == wamid, (
            f"{words!r} acknowledged as {wamid}, chat has {in_chats.get(words)}"
        )
    # A phone's message may have reached the receiver more than once (at least once, as
    # Meta), but always under one id: the one its chat (and its answer) has.
    ids_per_text: dict[str, set[str]] = {}
    for m in inbound(got.received):
        ids_per_text.setdefault(m["text"]["body"], set()).add(m["id"])
    assert {t: ids for t, ids in ids_per_text.items() if len(ids) > 1} == {}
    for words, ids in ids_per_text.items():
        assert ids == {in_chats[words]}
    # Statuses only ever name messages that exist, and each reply went all the way.
    assert {s["id"] for s in statuses(got.received)} <= set(in_chats.values())
    outbound = [m for chat in chats.values() for m in chat if m["direction"] == "outbound"]
    assert {m["status"] for m in outbound} == {"read"}


def test_a_stalled_event_stream_listener_does_not_slow_the_graph_api(
    mock: Mock, webhooks: tuple[Webhooks, str]
) -> None:
    phone = "15551250001"
    # A listener that connects and then reads nothing, with small socket buffers.
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", mock.port))
    stalled.sendall(
        b"GET /_mock/events HTTP/1.1\r\nHost: mock\r\nAccept: text/event-stream\r\n\r\n"
    )
    bulky = "x" * 4000  # the event of each send carries its text: the buffers fill fast
    sends = 1500  # some 6 MB of events: more than the kernel buffers between the two
    with httpx.Client(base_url=mock.url, timeout=10) as client:
        client.put("/_mock/limits", json={"throughput": False})
        assert client.post(f"/_mock/phones/{phone}/messages", json={"text": "hi"}).is_success
        answers = [
            client.post(
                f"/v21.0/{PHONE_NUMBER_ID}/messages",
                json=text(phone, f"{n} {bulky}"),
                headers=AUTH,
            ).status_code
            for n in range(sends)
        ]
        # Every send was answered (each within the client's timeout) while nobody read.
        assert answers == [200] * sends
        # The listener lost its place, and is told so at the end of what it was sent.
        stalled.settimeout(5)
        tail = b""  # megabytes come first: keep only the end of what was read
        deadline = time.monotonic() + 60
        while b"dropped, too slow" not in tail:
            assert time.monotonic() < deadline, "the listener was never dropped"
            chunk = stalled.recv(65536)
            assert chunk, "the stream ended without saying why"
            tail = tail[-100:] + chunk
        stalled.close()
        # The API never noticed.
        assert client.get("/readyz").status_code == 200
