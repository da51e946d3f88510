"""The `simulator` command: the TUI in this terminal, or served to a browser."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from promptpipe_simulator import __version__
from promptpipe_simulator.settings import Settings


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)

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
        locust = locust_command(args)
        # Locust takes over this process: its signals, its output, its exit code.
        os.execv(locust[0], locust)

    if args.command == "world":
        from promptpipe_simulator.world_cli import run_world_command

        sys.exit(asyncio.run(run_world_command(args, Settings())))

    if args.command == "serve":
        from promptpipe_simulator.tui import serve as web

        web.serve(args.host, args.port, args.public_url)
        return

    # Textual is imported here so that the headless core never pays for it.
    from promptpipe_simulator.core.backend import Backend
    from promptpipe_simulator.tui.app import SimulatorApp

    settings = Settings()
    if args.world:
        from promptpipe_simulator.world_cli import open_world

        if not asyncio.run(open_world(args.world, settings)):
            sys.exit(2)
    app = SimulatorApp(Backend(settings), poll_seconds=settings.poll_seconds)
    if getattr(args, "served", False):
        from promptpipe_simulator.tui.serve import ParentWatch

        ParentWatch(app).start()
    app.run()


def build_parser() -> argparse.ArgumentParser:
    """The `simulator` command line."""
    parser = argparse.ArgumentParser(
        prog="simulator", description="Chat as simulated WhatsApp participants with the stack."
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "--world",
        metavar="NAME",
        help="load the saved world NAME first (generated from worlds/NAME.yaml if not saved yet)",
    )
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
    from promptpipe_simulator.world_cli import add_world_parser

    add_world_parser(sub)
    load = sub.add_parser(
        "load",
        help="simulated participants under Locust: reply latency, lost and doubled replies",
        description="Runs the stack's Locust load test (simulated participants who wait for "
        "each reply). Headless by default: prints Locust's tables and a summary, exit code 1 "
        "if a reply was lost or doubled. Arguments after -- go to Locust as they are.",
    )
    load.add_argument(
        "--participants", type=int, default=10, metavar="N", help="participants to run (10)"
    )
    load.add_argument(
        "--spawn-rate", type=float, default=10, metavar="R", help="participants started a second"
    )
    load.add_argument(
        "--duration", default="1m", metavar="TIME", help="at most this long: 30s, 5m, 1h (1m)"
    )
    load.add_argument("--html", metavar="PATH", help="also write Locust's HTML report")
    load.add_argument(
        "--web", action="store_true", help="Locust's web UI on 127.0.0.1:8089 instead of headless"
    )
    load.add_argument(
        "--web-host", default="127.0.0.1", help="the web UI's address (0.0.0.0 in a container)"
    )
    load.add_argument(
        "--processes",
        type=int,
        metavar="N",
        help="N worker processes on this machine (-1: one per core)",
    )
    role = load.add_mutually_exclusive_group()
    role.add_argument(
        "--master", action="store_true", help="coordinate workers on other machines (port 5557)"
    )
    role.add_argument(
        "--worker", action="store_true", help="drive participants for a master (--master-host)"
    )
    load.add_argument("--master-host", default="127.0.0.1", help="the master's address (worker)")
    load.add_argument(
        "--expect-workers", type=int, default=1, metavar="N", help="master: wait for N workers (1)"
    )
    from promptpipe_simulator.core.load_run import add_options

    add_options(load)
    load.add_argument("locust_args", nargs="*", metavar="-- LOCUST ARGS", help=argparse.SUPPRESS)
    return parser


def run_scenarios(
    paths: list[Path],
    verbose: bool = False,
    cleanup: bool = False,
    stack: str | None = None,
    junit: Path | None = None,
) -> int:
    """Run every scenario in `paths`; the exit code is 0 only if all of them pass, 2 when
    a file is invalid or the stack controller asked for cannot work here."""
    from promptpipe_simulator.core.scenario import ScenarioError, load, scenario_files
    from promptpipe_simulator.core.stack_control import (
        StackControlError,
        StackController,
        choose_controller,
    )
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


def locust_command(args: argparse.Namespace) -> list[str]:
    """The Locust command line for `simulator load`'s arguments."""
    from promptpipe_simulator.core.load_run import option_argv

    # Its path, not an import: importing Locust would patch this process for gevent.
    locustfile = Path(__file__).parent / "core" / "locustfile.py"
    command = [sys.executable, "-m", "locust", "-f", str(locustfile)]
    if args.worker:
        return [*command, "--worker", "--master-host", args.master_host, *args.locust_args]
    command += ["--users", str(args.participants), "--spawn-rate", str(args.spawn_rate)]
    if args.web:
        command += ["--web-host", args.web_host, "--web-port", "8089"]
    else:
        command += ["--headless", "--run-time", args.duration, "--only-summary"]
    if args.master:
        command += ["--master", "--expect-workers", str(args.expect_workers)]
    if args.processes:
        command += ["--processes", str(args.processes)]
    if args.html:
        command += ["--html", args.html]
    return [*command, *option_argv(args), *args.locust_args]
