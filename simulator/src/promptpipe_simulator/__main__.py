"""`python -m promptpipe_simulator` is the `simulator` command."""

from promptpipe_simulator.cli import main

main()
