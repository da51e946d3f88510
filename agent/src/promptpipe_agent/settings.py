"""The agent's configuration, read once from the environment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of the agent, with its local default."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = Field(
        "postgres://promptpipe:promptpipe@127.0.0.1:5433/promptpipe?sslmode=disable",
        alias="DATABASE_URL",
    )
    # The Postgres schema of the agent's tables: a second agent (the migration's candidate)
    # runs beside the first in a schema of its own.
    db_schema: str = Field("agent", alias="AGENT_DB_SCHEMA", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    host: str = Field("127.0.0.1", alias="AGENT_HOST")
    port: int = Field(8001, alias="AGENT_PORT")
    log_level: str = Field("info", alias="AGENT_LOG_LEVEL")
    llm_provider: Literal["offline", "openai"] = Field("offline", alias="LLM_PROVIDER")
    openai_base_url: str = Field("", alias="OPENAI_BASE_URL")
    openai_api_key: SecretStr = Field(SecretStr(""), alias="OPENAI_API_KEY")
    openai_model: str = Field("gpt-4o-mini", alias="OPENAI_MODEL")
    llm_timeout_seconds: float = Field(20, alias="LLM_TIMEOUT_SECONDS", gt=0)
    llm_max_retries: int = Field(1, alias="LLM_MAX_RETRIES", ge=0)
    # Record every model call to this JSON file, or replay them from it (no network).
    llm_cassette: str = Field("", alias="LLM_CASSETTE")
    llm_cassette_mode: Literal["record", "replay"] = Field("replay", alias="LLM_CASSETTE_MODE")
    # PromptPipe's constants, as knobs: the prompt goes out before the chosen time, an
    # unanswered prompt gets a reminder, a prompt in INTAKE switches to FEEDBACK.
    prep_time_minutes: int = Field(10, alias="AGENT_PREP_TIME_MINUTES", ge=0, le=120)
    reminder_delay_minutes: float = Field(300, alias="AGENT_REMINDER_DELAY_MINUTES", gt=0)
    auto_feedback_delay_minutes: float = Field(5, alias="AGENT_AUTO_FEEDBACK_DELAY_MINUTES", gt=0)
    # PromptPipe's FEEDBACK_INITIAL_TIMEOUT and FEEDBACK_FOLLOWUP_DELAY, for a habit prompt
    # given in the chat: ask how it worked, then one last check-in.
    feedback_initial_timeout_minutes: float = Field(
        15, alias="AGENT_FEEDBACK_INITIAL_TIMEOUT_MINUTES", gt=0
    )
    feedback_followup_delay_minutes: float = Field(
        180, alias="AGENT_FEEDBACK_FOLLOWUP_DELAY_MINUTES", gt=0
    )
    # "How's the intensity?" ends the feedback exchange from this daily prompt on (the
    # participant has had a couple to judge by).
    intensity_from_prompt: int = Field(3, alias="AGENT_INTENSITY_FROM_PROMPT", ge=1)
    # Tone tags applied to participants who have chosen none (concise, no_emojis,
    # one_question_at_a_time), comma-separated: the stack's candidate agent is the same
    # coach with AGENT_DEFAULT_TONE=concise, a difference a shadow run shows at once.
    default_tone: str = Field("", alias="AGENT_DEFAULT_TONE")
    max_tool_rounds: int = Field(6, alias="AGENT_MAX_TOOL_ROUNDS", ge=1, le=20)
    delivery_url: str = Field("http://127.0.0.1:8080", alias="DELIVERY_URL")
    delivery_api_token: SecretStr = Field(SecretStr(""), alias="DELIVERY_API_TOKEN")
    # Callers (delivery, the stack's tools) send it as a bearer token; empty refuses them all.
    api_token: SecretStr = Field(SecretStr(""), alias="AGENT_API_TOKEN")
    # Larger request bodies are refused (413) before they are read: a turn is a short text.
    max_body_bytes: int = Field(2**20, alias="AGENT_MAX_BODY_BYTES", ge=1024)
    # The dev stack's virtual clock: only then is a caller's X-PromptPipe-Now honoured,
    # and /dev/world saves and loads the agent's state for the simulator's worlds.
    dev_clock: bool = Field(False, alias="DEV_CLOCK")

    def default_tone_tags(self) -> list[str]:
        """AGENT_DEFAULT_TONE as a list of tags."""
        return [t.strip() for t in self.default_tone.split(",") if t.strip()]

    def masked(self) -> dict[str, object]:
        """The settings as they may be logged: secrets and passwords hidden."""
        shown = self.model_dump(exclude={"openai_api_key", "delivery_api_token", "api_token"})
        shown["database_url"] = _mask_password(self.database_url)
        shown["openai_api_key_set"] = bool(self.openai_api_key.get_secret_value())
        shown["api_token_set"] = bool(self.api_token.get_secret_value())
        return shown


def _mask_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in creds:
        return url
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
