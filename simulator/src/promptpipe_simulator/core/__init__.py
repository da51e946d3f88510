"""The simulator's headless core: clients of the stack and personas. Never imports Textual,
so scenarios and load runs use it without a terminal."""
