"""mock_whatsapp's configuration (prefix MOCK_WA_), read once from the environment."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mock_whatsapp.subscriber_urls import DEFAULT_ALLOWED_HOSTS


@dataclass(frozen=True)
class BusinessNumber:
    """A business phone number the mock serves, and the access token allowed to use it."""

    phone_number_id: str
    display_phone_number: str
    access_token: str
    waba_id: str


class Settings(BaseSettings):
    """The fake Meta's credentials and knobs. Defaults match delivery's local defaults."""

    # Errors name the field, never its value: some values are secrets.
    model_config = SettingsConfigDict(
        env_prefix="MOCK_WA_", extra="ignore", hide_input_in_errors=True
    )

    host: str = "127.0.0.1"
    # Postgres to keep chats and pending webhooks across restarts (schema mock_whatsapp);
    # empty: the mock keeps everything in memory only.
    database_url: str = ""
    port: int = 8090
    log_level: str = "info"
    webhook_url: str = "http://127.0.0.1:8080/webhooks/whatsapp"
    # Hosts (names, IP addresses or networks, comma-separated) that POST
    # /_mock/webhooks/subscribers may add: the mock calls them, so not just any.
    webhook_allowed_hosts: str = DEFAULT_ALLOWED_HOSTS
    app_secret: SecretStr = SecretStr("dev-app-secret")
    access_token: SecretStr = SecretStr("dev-access-token")
    phone_number_id: str = "100000000000001"
    display_phone_number: str = "15550001234"
    waba_id: str = "200000000000001"
    # More business numbers, as JSON: [{"phone_number_id", "display_phone_number",
    # "access_token", "waba_id"?}]. The single-number variables above stay the first one.
    extra_numbers: str = ""
    verify_token: SecretStr = SecretStr("dev-verify-token")
    # Seconds between the sent → delivered → read statuses of an outbound message.
    status_delay_seconds: float = 0.5
    # Meta's status quirks, each a probability per message (0: never, so tests stay
    # deterministic): read at once so `delivered` is skipped, statuses out of order, twice.
    status_skip_delivered: float = Field(default=0.0, ge=0, le=1)
    status_out_of_order: float = Field(default=0.0, ge=0, le=1)
    status_duplicate: float = Field(default=0.0, ge=0, le=1)
    # How long a failing webhook is retried before the mock gives up on it.
    webhook_retry_for_seconds: float = 300
    # Retries back off exponentially from 0.5 s up to this ceiling.
    webhook_max_backoff_seconds: float = 30
    webhook_timeout_seconds: float = 10
    # Refuse free-form messages to phones that have not written in 24 hours (error 131047,
    # reported as a `failed` status after the send returned a wamid, as Meta does).
    enforce_window: bool = True
    # Throughput per business number (130429), Meta's default 80 messages per second.
    throughput_limit: bool = True
    messages_per_second: float = Field(default=80, gt=0)
    # Pair rate limit (131056): about one message per 6 s to one user, bursts up to 45.
    pair_rate_limit: bool = False
    pair_interval_seconds: float = Field(default=6, gt=0)
    pair_burst: int = Field(default=45, ge=1)
    # Larger request bodies are refused (413) before they are read, except media uploads,
    # which may be as large as Meta's largest media (100 MB documents).
    max_body_bytes: int = Field(default=2**20, ge=1024)
    # Seconds a media download URL stays valid.
    media_url_ttl_seconds: float = Field(default=300, gt=0)
    # Approved templates (JSON); empty means the built-in registry. Every WABA also has
    # Meta's sample hello_world (en_US).
    templates_file: str = ""
    # Seconds of the mock's time a new template waits in review before it is approved, so
    # moving the clock approves it; with auto-approval off only the control API decides.
    template_review_seconds: float = Field(default=60, ge=0)
    template_auto_approve: bool = True

    @model_validator(mode="after")
    def _numbers_readable(self) -> Settings:
        try:
            self.business_numbers()
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                "MOCK_WA_EXTRA_NUMBERS must be a JSON list of {phone_number_id, "
                f"display_phone_number, access_token, waba_id?}}: {exc!r}"
            ) from exc
        return self

    def masked(self) -> dict[str, object]:
        """The settings as they may be logged: secrets left out, the database password
        hidden."""
        shown = self.model_dump(
            exclude={"app_secret", "access_token", "verify_token", "extra_numbers"}
        )
        shown["database_url"] = _mask_password(self.database_url)
        return shown

    def business_numbers(self) -> dict[str, BusinessNumber]:
        """Every business number by its phone number id, the default one first."""
        numbers = [
            BusinessNumber(
                self.phone_number_id,
                self.display_phone_number,
                self.access_token.get_secret_value(),
                self.waba_id,
            )
        ]
        for extra in json.loads(self.extra_numbers) if self.extra_numbers else []:
            numbers.append(
                BusinessNumber(
                    str(extra["phone_number_id"]),
                    str(extra["display_phone_number"]),
                    str(extra["access_token"]),
                    str(extra.get("waba_id", self.waba_id)),
                )
            )
        return {n.phone_number_id: n for n in numbers}


def _mask_password(url: str) -> str:
    """'postgres://user:secret@host/db' → 'postgres://user:***@host/db'."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in creds:
        return url
    return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
