"""The `simulator` command: the TUI in this terminal, or served to a browser."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from promptpipe_simulator import __version__
from promptpipe_simulator.settings import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="simulator", description="Chat as simulated WhatsApp participants with the stack."
    )
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command")
    tui = sub.add_parser("tui", help="open the terminal interface (the default)")
    # Set by `simulator serve` for the app process of each browser tab.
    tui.add_argument("--served", action="store_true", help=argparse.SUPPRESS)
    serve = sub.add_parser("serve", help="serve the terminal interface to web browsers")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--public-url",
        help="the address browsers use, when it differs (behind Docker's port mapping)",
    )
    run = sub.add_parser("run", help="run scenario files headless against the running stack")
    run.add_argument("paths", nargs="+", type=Path, help="scenario files or folders of them")
    run.add_argument("-v", "--verbose", action="store_true", help="show what each step saw")
    run.add_argument(
        "--cleanup", action="store_true", help="delete the scenarios' participants afterwards"
    )
    run.add_argument(
        "--stack",
        choices=["native", "compose", "none"],
        help="how restart/stop/start steps reach the services (default: what ./scripts/up "
        "started: STACK_MODE, else .stack/mode)",
    )
    run.add_argument("--junit", type=Path, metavar="PATH", help="also write a JUnit XML report")
    load = sub.add_parser(
        "load", help="drive many participants through the intake at once; print latencies"
    )
    load.add_argument(
        "--participants", type=int, default=10, metavar="N", help="personas to enroll (10)"
    )
    load.add_argument(
        "--messages",
        type=int,
        default=8,
        metavar="M",
        help="messages per participant (8: the whole intake; more chat in FEEDBACK)",
    )
    load.add_argument(
        "--within", type=float, default=30.0, metavar="SECONDS", help="wait for each reply (30)"
    )
    load.add_argument("--cleanup", action="store_true", help="delete the participants afterwards")
    args = parser.parse_args(argv)

    if args.command == "run":
        sys.exit(
            run_scenarios(
                args.paths,
                verbose=args.verbose,
                cleanup=args.cleanup,
                stack=args.stack,
                junit=args.junit,
            )
        )

    if args.command == "load":
        sys.exit(drive_load(args.participants, args.messages, args.within, cleanup=args.cleanup))

    if args.command == "serve":
        from promptpipe_simulator.tui import serve as web

        web.serve(args.host, args.port, args.public_url)
        return

    # Textual is imported here so that the headless core never pays for it.
    from promptpipe_simulator.core.backend import Backend
    from promptpipe_simulator.tui.app import SimulatorApp

    settings = Settings()
    app = SimulatorApp(Backend(settings), poll_seconds=settings.poll_seconds)
    if getattr(args, "served", False):
        from promptpipe_simulator.tui.serve import ParentWatch

        ParentWatch(app).start()
    app.run()


def run_scenarios(
    paths: list[Path],
    verbose: bool = False,
    cleanup: bool = False,
    stack: str | None = None,
    junit: Path | None = None,
) -> int:
    """Run every scenario in `paths`; the exit code is 0 only if all of them pass, 2 when
    a file is invalid or the stack controller asked for cannot work here."""
    from promptpipe_simulator.core.runner import StackController
    from promptpipe_simulator.core.scenario import ScenarioError, load, scenario_files
    from promptpipe_simulator.core.stack_control import StackControlError, choose_controller
    from promptpipe_simulator.core.suite import run_files

    try:
        files = scenario_files(paths)
        needs_controller = any(load(path).needs_controller() for path in files)
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 2
    settings = Settings()
    controller: StackController | None = None
    reason = ""
    if needs_controller:
        try:
            controller = choose_controller(stack, settings)
        except StackControlError as exc:
            if stack is not None:  # asked for by name: say so rather than run half the suite
                print(exc, file=sys.stderr)
                return 2
            reason = str(exc)
            print(f"note: steps that restart a service will fail: {reason}", file=sys.stderr)
    return asyncio.run(
        run_files(
            files,
            settings,
            verbose=verbose,
            cleanup=cleanup,
            controller=controller,
            no_controller_reason=reason,
            junit=junit,
        )
    )


def drive_load(participants: int, messages: int, within: float, cleanup: bool = False) -> int:
    """Run the load driver against the stack; exit code 1 if a reply was lost or doubled."""
    from promptpipe_simulator.core.backend import Backend
    from promptpipe_simulator.core.clients import StackError
    from promptpipe_simulator.core.load import run_load

    if participants < 1 or messages < 1:
        print("--participants and --messages must be at least 1", file=sys.stderr)
        return 2

    async def drive() -> int:
        backend = Backend(Settings())
        try:
            report = await run_load(
                backend, participants, messages, reply_within=within, cleanup=cleanup
            )
        except StackError as exc:
            print(f"load not run: {exc}", file=sys.stderr)
            return 2
        finally:
            await backend.close()
        print(report.render())
        return 0 if report.ok else 1

    return asyncio.run(drive())
