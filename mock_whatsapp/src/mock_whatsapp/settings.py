"""mock_whatsapp's configuration (prefix MOCK_WA_), read once from the environment."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The fake Meta's credentials and knobs. Defaults match delivery's local defaults."""

    model_config = SettingsConfigDict(env_prefix="MOCK_WA_", extra="ignore")

    host: str = "127.0.0.1"
    # Postgres to keep chats and pending webhooks across restarts (schema mock_whatsapp);
    # empty: the mock keeps everything in memory only.
    database_url: str = ""
    port: int = 8090
    log_level: str = "info"
    webhook_url: str = "http://127.0.0.1:8080/webhooks/whatsapp"
    app_secret: SecretStr = SecretStr("dev-app-secret")
    access_token: SecretStr = SecretStr("dev-access-token")
    phone_number_id: str = "100000000000001"
    display_phone_number: str = "15550001234"
    waba_id: str = "200000000000001"
    verify_token: SecretStr = SecretStr("dev-verify-token")
    # Seconds between the sent → delivered → read statuses of an outbound message.
    status_delay_seconds: float = 0.5
    # How long a failing webhook is retried before the mock gives up on it.
    webhook_retry_for_seconds: float = 300
    # Retries back off exponentially from 0.5 s up to this ceiling.
    webhook_max_backoff_seconds: float = 30
    webhook_timeout_seconds: float = 10
    # Refuse free-form messages to phones that have not written in 24 hours (error 131047,
    # reported as a `failed` status after the send returned a wamid, as Meta does).
    enforce_window: bool = True
    # Approved templates (JSON); empty means the built-in registry.
    templates_file: str = ""

    def masked(self) -> dict[str, object]:
        return self.model_dump(exclude={"app_secret", "access_token", "verify_token"})
