"""Settings every service shares; each service subclasses `ServiceSettings` once."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Dev-mode defaults: convenient on a laptop, refused when ENVIRONMENT=prod.
DEV_IDENTITY_SECRET = "dev-only-identity-secret-change-me-0000"


def require_production_secret(name: str, value: SecretStr, dev_default: str) -> None:
    """Refuse a dev default or a short secret when running in production."""
    secret = value.get_secret_value()
    if secret == dev_default or len(secret) < 32:
        raise ValueError(f"{name} must be set to a secret of 32+ characters in production (dev defaults are refused)")


class ServiceSettings(BaseSettings):
    """Configuration read from environment variables (documented in README)."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    service_name: str = "service"
    environment: Literal["dev", "prod"] = "dev"
    database_url: str = ""
    # A process has a small autocommit read pool and a write pool that may overflow (see shared.database):
    # PostgreSQL's max_connections must cover (read pool + pool size + overflow) × processes of every service.
    database_read_pool_size: int = Field(4, ge=1)  # hot reads take turns on as many connections
    database_pool_size: int = 10
    database_max_overflow: int = 5
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Real Kafka supports the idempotent producer; the local broker does not.
    kafka_enable_idempotence: bool = False
    kafka_topic_partitions: int = 6
    kafka_replication_factor: int = 1
    kafka_session_timeout_ms: int = 10_000
    # Kafka answers a waiting fetch as soon as data arrives; the local broker holds it for the whole wait,
    # which then adds up to this much to every event's delivery.
    kafka_fetch_max_wait_ms: int = 20
    kafka_request_timeout_s: float = 10.0
    # Kafka rejects messages near 1 MB by default; refuse bigger events when recording them.
    event_max_bytes: int = 512_000
    consumer_max_attempts: int = 3
    relay_batch_size: int = 200
    # How long sent events stay in the outbox and applied events' ids in the inbox (0: for ever); shared.retention.
    outbox_keep_hours: float = Field(24.0, ge=0)
    inbox_keep_days: float = Field(8.0, ge=0)
    # How long a creating request's Idempotency-Key replays its first answer (0: for ever).
    idempotency_keep_hours: float = Field(168.0, ge=0)
    retention_every_s: float = Field(600.0, gt=0)
    identity_secret: SecretStr = SecretStr(DEV_IDENTITY_SECRET)
    max_body_bytes: int = 2_000_000
    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_prod(self) -> "ServiceSettings":
        if self.environment == "prod":
            require_production_secret("IDENTITY_SECRET", self.identity_secret, DEV_IDENTITY_SECRET)
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///var/{self.service_name}.db"
        return self

    @property
    def outbox_keep(self) -> timedelta | None:
        """How long a sent event stays in the outbox (None: for ever)."""
        return timedelta(hours=self.outbox_keep_hours) if self.outbox_keep_hours > 0 else None

    @property
    def inbox_keep(self) -> timedelta | None:
        """How long an applied event's id stays in the inbox (None: for ever)."""
        return timedelta(days=self.inbox_keep_days) if self.inbox_keep_days > 0 else None

    @property
    def idempotency_keep(self) -> timedelta | None:
        """How long an idempotency key and its stored answer stay (None: for ever)."""
        return timedelta(hours=self.idempotency_keep_hours) if self.idempotency_keep_hours > 0 else None

    @property
    def event_source(self) -> str:
        """CloudEvents `source` attribute for events this service publishes."""
        return f"/{self.service_name}"
