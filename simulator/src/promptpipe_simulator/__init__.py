"""The PromptPipe simulator: chat as fake WhatsApp participants with the local stack."""

__version__ = "0.1.0"
