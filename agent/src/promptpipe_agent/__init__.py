"""PromptPipe's agent: decides what the coach says to each participant."""

__version__ = "0.1.0"
