"""Gateway configuration (environment variables; see README)."""

import json
from typing import Annotated

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from shared.settings import ServiceSettings, require_production_secret

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-000000000"
DEV_ADMIN_PASSWORD = "admin12345"


class GatewaySettings(ServiceSettings):
    """Settings of the gateway."""

    service_name: str = "gateway"
    grid_url: str = "http://127.0.0.1:8001"
    points_url: str = "http://127.0.0.1:8002"
    dispatch_url: str = "http://127.0.0.1:8003"
    legal_url: str = "http://127.0.0.1:8004"
    upstream_timeout_s: float = 10.0
    upstream_connect_timeout_s: float = 2.0
    # Connections kept per upstream: enough for bursts, few enough that idle sockets cost little.
    upstream_pool_size: int = 100
    # Answers up to this size are relayed whole; larger ones (exports, long lists) stream through.
    upstream_buffer_bytes: int = 64 * 1024
    # Each call of a composed view gets this long before its section is reported in `degraded`.
    view_timeout_s: float = 3.0
    # Circuit breaker per upstream: this many consecutive failures open it for `breaker_reset_s`.
    breaker_failure_threshold: int = 5
    breaker_reset_s: float = 10.0
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    access_token_minutes: int = 60
    # Users and API keys are re-read from the database at most this often (per gateway process).
    auth_cache_s: float = 5.0
    # Token buckets, per gateway process: capacity `*_burst`, refilled at `*_per_minute`.
    rate_limit_per_minute: int = 600
    rate_limit_burst: int = 100
    anonymous_rate_limit_per_minute: int = 120
    anonymous_rate_limit_burst: int = 30
    # Origins allowed to call from a browser (front-end dev servers, production hosts);
    # a JSON list or a comma-separated string.
    cors_origins: Annotated[list[str], NoDecode] = []
    # The merged OpenAPI document is rebuilt from the services at most this often.
    openapi_cache_s: float = 30.0
    # The first platform admin, created on start when no user exists.
    bootstrap_admin_username: str = "admin"
    bootstrap_admin_password: SecretStr = SecretStr(DEV_ADMIN_PASSWORD)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_dev_credentials_in_prod(self) -> "GatewaySettings":
        if self.environment == "prod":
            require_production_secret("JWT_SECRET", self.jwt_secret, DEV_JWT_SECRET)
            if self.bootstrap_admin_password.get_secret_value() in ("", DEV_ADMIN_PASSWORD):
                raise ValueError("BOOTSTRAP_ADMIN_PASSWORD must be set in production (the dev default is refused)")
            if "*" in self.cors_origins:
                raise ValueError("CORS_ORIGINS may not be '*' in production: list the front ends' origins")
        return self

    def upstreams(self) -> dict[str, str]:
        """Domain → base URL of the owning service."""
        return {"grid": self.grid_url, "points": self.points_url, "dispatch": self.dispatch_url, "legal": self.legal_url}
