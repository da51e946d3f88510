"""The Textual interface of the simulator."""
