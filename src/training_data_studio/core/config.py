"""One Settings object, read once from the environment (and an optional .env file).

Secrets (API keys, the JWT secret, SMTP credentials) are SecretStr so they never end up in a log line
or a repr by accident.
"""

from __future__ import annotations

import getpass
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. an arbitrary uid in a container
        return "local"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    data_dir: Path = Field(default=Path(".data/postgres"), validation_alias="TDS_DATA_DIR")
    user: str = Field(default_factory=_default_user, validation_alias="TDS_USER")
    host: str = Field(default="127.0.0.1", validation_alias="TDS_HOST")
    port: int = Field(default=8000, validation_alias="TDS_PORT")
    log_level: str = Field(default="info", validation_alias="TDS_LOG_LEVEL")
    # Host names the app answers to besides 127.0.0.1, localhost and TDS_HOST (comma-separated): any other
    # Host header is refused, so a DNS-rebinding page cannot reach the app under its own name.
    allowed_hosts: str = Field(default="", validation_alias="TDS_ALLOWED_HOSTS")

    supabase_jwt_secret: SecretStr | None = Field(default=None, validation_alias="SUPABASE_JWT_SECRET")

    anthropic_api_key: SecretStr | None = Field(default=None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_model: str = Field(default="claude-sonnet-4-6", validation_alias="TDS_ANTHROPIC_MODEL")
    openai_base_url: str | None = Field(default=None, validation_alias="TDS_OPENAI_BASE_URL")
    openai_api_key: SecretStr | None = Field(default=None, validation_alias="TDS_OPENAI_API_KEY")
    openai_model: str | None = Field(default=None, validation_alias="TDS_OPENAI_MODEL")
    # Per worker process; the provider's rate-limit budgets and 429 pauses are shared by all workers anyway.
    # Unset: adapt to the account (8 until the first reply's headers tell its request limit, then up to half
    # of it, at most 64); the request and token budgets decide when each call starts either way.
    max_calls_in_flight: int | None = Field(default=None, ge=1, le=64, validation_alias="TDS_MAX_CALLS_IN_FLIGHT")
    # Optional cap across every worker on every machine (advisory-lock slots in Postgres); unset = no cap.
    max_calls_in_flight_total: int | None = Field(
        default=None, ge=1, le=1024, validation_alias="TDS_MAX_CALLS_IN_FLIGHT_TOTAL"
    )

    # How long economy mode waits between checks of a Message Batch (batches take minutes to hours).
    batch_poll_seconds: float = Field(default=60.0, ge=0.5, le=3600, validation_alias="TDS_BATCH_POLL_SECONDS")

    # Where training file versions are stored: unset = the "training-files" folder beside the database's data
    # directory; "s3://bucket/prefix" = S3-compatible object storage (credentials from the standard AWS
    # variables or files, never from here), at TDS_STORAGE_ENDPOINT_URL when it is not AWS itself.
    storage_url: str | None = Field(default=None, validation_alias="TDS_STORAGE_URL")
    storage_endpoint_url: str | None = Field(default=None, validation_alias="TDS_STORAGE_ENDPOINT_URL")
    storage_region: str = Field(default="us-east-1", validation_alias="TDS_STORAGE_REGION")

    smtp_url: SecretStr | None = Field(default=None, validation_alias="SMTP_URL")
    smtp_from: str = Field(default="training-data-studio@localhost", validation_alias="SMTP_FROM")

    @property
    def uses_embedded_database(self) -> bool:
        return not self.database_url

    @property
    def host_names(self) -> frozenset[str]:
        """Every host name the app answers to, lower-cased, without ports."""
        extra = (name.strip().lower() for name in self.allowed_hosts.split(","))
        return frozenset({"127.0.0.1", "localhost", self.host.strip().lower(), *(n for n in extra if n)})

    @property
    def auth_required(self) -> bool:
        return self.supabase_jwt_secret is not None and bool(self.supabase_jwt_secret.get_secret_value())


@lru_cache
def get_settings() -> Settings:
    return Settings()
