"""Where the simulator finds the stack (prefix SIM_), read once from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIM_", extra="ignore", populate_by_name=True)

    delivery_url: str = "http://127.0.0.1:8080"
    mock_wa_url: str = "http://127.0.0.1:8090"
    agent_url: str = "http://127.0.0.1:8001"
    # Prometheus, when the stack runs it (./scripts/up --monitoring): the dashboard reads
    # it if it answers, else the services' own /metrics.
    prometheus_url: str = "http://127.0.0.1:9090"
    poll_seconds: float = 0.5
    # Shared with delivery: its admin API wants this bearer token when it is set.
    delivery_api_token: SecretStr = Field(SecretStr(""), alias="DELIVERY_API_TOKEN")
    # Shared with the agent, which shows conversations only to callers with this token;
    # the default is the dev stack's (.env.example, compose.yaml).
    agent_api_token: SecretStr = Field(SecretStr("dev-agent-token"), alias="AGENT_API_TOKEN")
    # Saved worlds (simulator world ...): ./scripts/sim sets the repository's worlds/.
    worlds_dir: Path = Path("worlds")
