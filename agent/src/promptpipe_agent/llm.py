"""Which chat model the coach talks to: the offline script (default), any OpenAI-compatible
endpoint, and either one behind a record/replay cassette."""

from __future__ import annotations

from pathlib import Path

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from promptpipe_agent.cassette import CassetteChatModel
from promptpipe_agent.offline_model import MODEL_NAME, OfflineChatModel
from promptpipe_agent.settings import Settings


def make_chat_model(settings: Settings) -> tuple[BaseChatModel, str]:
    """The model and the name the inspector shows for it."""
    model: BaseChatModel
    if settings.llm_provider == "offline":
        model, name = OfflineChatModel(), MODEL_NAME
    else:
        # Imported here: the OpenAI client is most of the agent's start-up time, and the
        # default (offline) never needs it.
        from langchain_openai import ChatOpenAI

        name = settings.openai_model
        model = ChatOpenAI(
            model=settings.openai_model,
            base_url=settings.openai_base_url or None,
            # Local servers (Ollama, LM Studio) want no key, but the client insists on one.
            api_key=SecretStr(settings.openai_api_key.get_secret_value() or "not-needed"),
            temperature=0.1,
            timeout=settings.llm_timeout_seconds,
            max_retries=settings.llm_max_retries,
        )
    if settings.llm_cassette:
        mode = settings.llm_cassette_mode
        model = CassetteChatModel(
            path=Path(settings.llm_cassette),
            mode=mode,
            inner=model if mode == "record" else None,
        )
        name = f"{name} (cassette {mode})"
    return model, name
