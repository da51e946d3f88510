"""`simulator world ...`: save, load, list, delete and generate whole-stack worlds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.clients import StackError
from promptpipe_simulator.core.worldgen import SpecError, generate, load_or_generate, load_spec
from promptpipe_simulator.core.worlds import Timing
from promptpipe_simulator.settings import Settings


def add_world_parser(sub: Any) -> None:
    world = sub.add_parser(
        "world",
        help="save, load and generate whole-stack states (worlds/)",
        description="A world is the state of every service at one moment, in one file under "
        "worlds/ (SIM_WORLDS_DIR). Each service exports and imports its own part.",
    )
    verbs = world.add_subparsers(dest="verb", required=True)
    save = verbs.add_parser("save", help="save the stack's state as NAME (replaces NAME)")
    save.add_argument("name")
    save.add_argument("-d", "--description", default="", help="a line saying what it shows")
    load = verbs.add_parser("load", help="replace the stack's state with the world NAME")
    load.add_argument("name")
    load.add_argument(
        "--generate",
        action="store_true",
        help="if NAME is not saved (or no longer loads), generate it from worlds/NAME.yaml",
    )
    verbs.add_parser("list", help="the saved worlds")
    delete = verbs.add_parser("delete", help="delete the saved world NAME")
    delete.add_argument("name")
    gen = verbs.add_parser(
        "generate",
        help="empty the stack, build a study from a YAML description, save it",
        description="Drives the real stack through its public APIs, time travel included. "
        "SPEC is a YAML file or the name of worlds/NAME.yaml; the world is saved under the "
        "spec's name unless --save says otherwise. It replaces the stack's state.",
    )
    gen.add_argument("spec")
    gen.add_argument("--save", metavar="NAME", help="save under this name")


def _timing(what: str, timing: Timing) -> str:
    return (
        f"{what} in {timing.total:.2f}s (services {timing.transfer:.2f}s, "
        f"file {timing.file:.2f}s), {timing.size_bytes / 1e6:.2f} MB"
    )


async def run_world_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run one `simulator world` verb; the exit code (1: the stack said no, 2: bad input)."""
    backend = Backend(settings)
    worlds = backend.worlds
    try:
        if args.verb == "list":
            found = worlds.folder.list()
            if not found:
                print(f"no saved worlds in {worlds.folder.folder}")
            for w in found:
                print(
                    f"{w.name:<20} {w.participants:>4} participants {w.messages:>6} messages  "
                    f"now {w.now[:16]}  saved {w.saved_at[:16]}  {w.size_bytes / 1e6:6.2f} MB  "
                    f"{w.description}"
                )
        elif args.verb == "delete":
            worlds.folder.delete(args.name)
            print(f"deleted world {args.name!r}")
        elif args.verb == "save":
            info, timing = await worlds.save(args.name, args.description)
            print(f"saved world {info.name!r} ({info.participants} participants) to {info.path}")
            print(_timing("saved", timing))
        elif args.verb == "load":
            if args.generate:
                print(await load_or_generate(backend, args.name, print))
            else:
                info, timing = await worlds.load(args.name)
                print(
                    f"loaded world {info.name!r}: {info.participants} participants, now {info.now}"
                )
                print(_timing("loaded", timing))
        elif args.verb == "generate":
            path = Path(args.spec)
            if not path.exists():
                path = worlds.folder.folder / f"{args.spec}.yaml"
            spec = load_spec(path)
            await generate(backend, spec, print)
            info, timing = await worlds.save(args.save or spec.name, spec.description)
            print(f"saved world {info.name!r} to {info.path}; {_timing('saved', timing)}")
    except SpecError as exc:
        print(exc, file=sys.stderr)
        return 2
    except StackError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        await backend.close()
    return 0


async def open_world(name: str, settings: Settings) -> bool:
    """Before the TUI opens: bring the stack to world `name` (see load_or_generate)."""
    backend = Backend(settings)
    try:
        print(await load_or_generate(backend, name, print))
        return True
    except (StackError, SpecError) as exc:
        print(f"world {name!r} not loaded: {exc}", file=sys.stderr)
        return False
    finally:
        await backend.close()
