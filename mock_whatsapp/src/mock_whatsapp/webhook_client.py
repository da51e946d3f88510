"""How the mock speaks HTTP to webhook subscribers: aiohttp, behind a small interface that
the tests replace at the edge (an in-process receiver instead of a socket).

aiohttp rather than httpx: posting a signed webhook cost httpx about 0.56 CPU ms and
aiohttp 0.10 on this machine (the same body, receiver and 16 kept-alive connections),
and posting was the largest share of the mock's CPU (a third of it under load). One
session per subscriber lane keeps its connections alive between webhooks, at most
`connections` at once; no cookies are kept and no redirect is followed (Meta follows
none: a 3xx is a failed attempt).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import NamedTuple, Protocol

import aiohttp


class Answer(NamedTuple):
    status: int
    text: str  # what the endpoint answered, decoded as UTF-8 (bad bytes replaced)


class NoAnswer(Exception):
    """No HTTP answer at all (refused, reset, name unknown, timed out); the text is what
    the delivery log shows."""

    def __init__(self, kind: str, error: str, timed_out: bool = False) -> None:
        super().__init__(f"{kind}: {error}")
        self.kind = kind  # the exception's name alone, for a log that must say no more
        self.timed_out = timed_out


class HttpClient(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer: ...

    async def get(self, url: str, params: Mapping[str, str]) -> Answer: ...

    async def close(self) -> None: ...


# Makes a client allowed `connections` requests at once (one per lane, one for handshakes).
ClientFactory = Callable[[int], HttpClient]


class AiohttpClient:
    """A kept-alive aiohttp session, opened on first use (it must belong to the running
    event loop)."""

    def __init__(self, timeout: float, connections: int) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.connections = connections
        self.session: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections),
                timeout=self.timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self.session

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        session = self._session()
        return await _answer(session.post(url, data=body, headers=headers, allow_redirects=False))

    async def get(self, url: str, params: Mapping[str, str]) -> Answer:
        session = self._session()
        return await _answer(session.get(url, params=params, allow_redirects=False))

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


async def _answer(request: AbstractAsyncContextManager[aiohttp.ClientResponse]) -> Answer:
    try:
        async with request as resp:
            return Answer(resp.status, (await resp.read()).decode("utf-8", "replace"))
    except TimeoutError as exc:
        raise NoAnswer(type(exc).__name__, "no answer in time", timed_out=True) from exc
    except aiohttp.ClientError as exc:
        raise NoAnswer(type(exc).__name__, str(exc)) from exc


def aiohttp_clients(timeout: float) -> ClientFactory:
    """The factory the mock uses outside tests."""
    return lambda connections: AiohttpClient(timeout, connections)
