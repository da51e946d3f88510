"""The `simulator` command."""

from __future__ import annotations

import argparse

from promptpipe_simulator import __version__
from promptpipe_simulator.settings import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="simulator", description="Chat as simulated WhatsApp participants with the stack."
    )
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("tui", help="open the terminal interface (the default)")
    parser.parse_args(argv)

    # Textual is imported here so that the headless core never pays for it.
    from promptpipe_simulator.core.backend import Backend
    from promptpipe_simulator.tui.app import SimulatorApp

    settings = Settings()
    SimulatorApp(Backend(settings), poll_seconds=settings.poll_seconds).run()
