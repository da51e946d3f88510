"""Saved worlds end to end, on a private native stack: generate a small study through the
public APIs, save it, change things, load it back and compare every service's part field
by field; a day after a load goes as a day without it; a save while turns are in flight
loses none; a file of another version is refused and changes nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.core.worldgen import generate, parse_spec
from promptpipe_simulator.core.worlds import WorldError
from promptpipe_simulator.settings import Settings

pytestmark = pytest.mark.e2e

SPEC = parse_spec(
    {
        "name": "small",
        "seed": 3,
        "days": 2,
        "participants": {
            "intake": 1,
            "feedback": [{"day": 2, "count": 1}, {"day": 1, "count": 1}],
            "silent": 1,
            "paused": 1,
            "closed_window": 1,
        },
    }
)


@pytest.fixture(scope="module")
def world_stack(make_stack: Callable[..., Any]) -> Any:
    """A stack of its own: these tests replace its whole state again and again."""
    return make_stack()


@pytest.fixture
async def backend(world_stack: Any, tmp_path: Path) -> AsyncIterator[Backend]:
    settings = Settings(
        delivery_url=world_stack.url("delivery"),
        mock_wa_url=world_stack.url("mock_whatsapp"),
        agent_url=world_stack.url("agent"),
        worlds_dir=tmp_path / "worlds",
    )
    b = Backend(settings)
    yield b
    await b.close()


def parts(world: dict[str, Any]) -> dict[str, Any]:
    """Every service's part without its clock reading (real time runs on)."""
    return {
        service: {k: v for k, v in part.items() if k != "now"}
        for service, part in world["services"].items()
    }


async def settled(backend: Backend) -> dict[str, Any]:
    """A capture of the stack once it has stopped moving by itself (turns answered,
    statuses read, webhooks delivered, templates sent for refused messages): captures
    agree for two seconds, longer than delivery's queue polls (1 s)."""
    last, same = await backend.worlds.capture(), 0
    for _ in range(120):
        await asyncio.sleep(0.5)
        now = await backend.worlds.capture()
        same = same + 1 if parts(now) == parts(last) else 0
        if same == 4:
            return now
        last = now
    raise AssertionError("the stack kept moving for a minute")


async def test_round_trip_restores_every_services_state_field_by_field(backend: Backend) -> None:
    await generate(backend, SPEC)
    saved = await settled(backend)
    await backend.worlds.save("small")
    tables = saved["services"]["delivery"]["tables"]
    assert len(tables["participants"]) == SPEC.size
    assert {p["status"] for p in tables["participants"]} == {"active", "paused"}
    assert any(m["type"] == "template" for m in tables["messages"])  # the closed window

    # Things change: a new participant writes, the clock moves two days on.
    persona = PersonaFactory(seed=99).make()
    await backend.enroll(persona)
    await backend.send_text(persona.phone_number, "Hello!")
    await backend.advance_clock("48h")
    assert parts(await backend.worlds.capture()) != parts(saved)

    await backend.worlds.load("small")
    back = await backend.worlds.capture()
    assert parts(back) == parts(saved)
    assert back["now"] >= saved["now"]  # the clock went back to the world's time
    chat = await backend.chat(persona.phone_number)
    assert chat == []  # the mock forgot the phone that is not in the world


def coach_did(world: dict[str, Any], since: dict[str, int]) -> dict[str, list[str]]:
    """Per phone, what the coach sent after `since[phone]` messages: the message type
    and, for a template, its name (texts may be worded at random), sorted: two templates
    replacing two refused messages of one phone leave in either order, load or not."""
    out: dict[str, list[str]] = {}
    for m in world["services"]["mock_whatsapp"]["tables"]["messages"]:
        out.setdefault(m["phone"], []).append(
            f"{m['direction']}:{m['type']}:{(m.get('details') or {}).get('name', '')}"
        )
    return {phone: sorted(kinds[since.get(phone, 0) :]) for phone, kinds in out.items()}


async def test_a_day_after_a_load_goes_as_a_day_without_it(backend: Backend) -> None:
    await generate(backend, SPEC)
    saved = await settled(backend)
    await backend.worlds.save("before")
    counts: dict[str, int] = {}
    for m in saved["services"]["mock_whatsapp"]["tables"]["messages"]:
        counts[m["phone"]] = counts.get(m["phone"], 0) + 1

    await backend.advance_clock("24h")
    without = coach_did(await settled(backend), counts)

    await backend.worlds.load("before")
    await backend.advance_clock("24h")
    with_load = coach_did(await settled(backend), counts)

    assert with_load == without
    # The day did something: daily prompts, and a template for the closed window.
    assert any(k.startswith("outbound:interactive") for kinds in without.values() for k in kinds)
    assert any(k.startswith("outbound:template:") for kinds in without.values() for k in kinds)


async def test_saving_with_turns_in_flight_loses_none(backend: Backend) -> None:
    await backend.worlds.clear()
    factory = PersonaFactory(seed=11)
    phones = []
    for _ in range(4):
        persona = factory.make()
        await backend.enroll(persona)
        phones.append(persona.phone_number)
    await backend.delivery.set_agent_fault("slow", 1.0)  # every turn takes a second
    try:
        await asyncio.gather(*(backend.send_text(p, "Hello!") for p in phones))
        await asyncio.sleep(0.3)  # the turns are under way
        await backend.worlds.save("in-flight")
        # Said after the save: not in the world.
        await asyncio.gather(*(backend.send_text(p, "After the save") for p in phones))
    finally:
        await backend.delivery.set_agent_fault("ok")
    world = backend.worlds.folder.read("in-flight")
    in_world = {
        (m["phone"], m["text"])
        for m in world["services"]["mock_whatsapp"]["tables"]["messages"]
        if m["direction"] == "inbound"
    }
    assert in_world == {(p, "Hello!") for p in phones}

    await backend.worlds.load("in-flight")
    final = await settled(backend)
    chats: dict[str, list[dict[str, Any]]] = {}
    for m in final["services"]["mock_whatsapp"]["tables"]["messages"]:
        chats.setdefault(m["phone"], []).append(m)
    for phone in phones:
        said = [m["text"] for m in chats[phone] if m["direction"] == "inbound"]
        assert said == ["Hello!"], said  # the message after the save is not there
        directions = [m["direction"] for m in chats[phone]]
        assert directions == ["inbound", "outbound"], directions  # answered once


async def test_a_file_of_another_version_is_refused_and_changes_nothing(
    backend: Backend,
) -> None:
    await generate(backend, SPEC)
    before = await settled(backend)
    await backend.worlds.save("current")
    folder = backend.worlds.folder
    data = json.loads(folder.path("current").read_text())

    old = {**data, "version": 0}
    folder.path("old").write_text(json.dumps(old))
    with pytest.raises(WorldError, match=r"version 0.*cannot load: generate it again"):
        await backend.worlds.load("old")

    # A part a service no longer reads (delivery's schema moved on) is refused by that
    # service in the check, before any service changed.
    stale = json.loads(json.dumps(data))
    stale["services"]["delivery"]["schema_version"] = 1
    stale["services"]["agent"]["tables"]["conversations"] = []
    folder.path("stale").write_text(json.dumps(stale))
    with pytest.raises(WorldError, match=r"delivery: .*schema version 1"):
        await backend.worlds.load("stale")

    assert parts(await backend.worlds.capture()) == parts(before)
