"""Gateway configuration (environment variables; see README)."""

from pydantic import SecretStr, model_validator

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
    upstream_pool_size: int = 100
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    access_token_minutes: int = 60
    # The first platform admin, created on start when no user exists.
    bootstrap_admin_username: str = "admin"
    bootstrap_admin_password: SecretStr = SecretStr(DEV_ADMIN_PASSWORD)

    @model_validator(mode="after")
    def _refuse_dev_credentials_in_prod(self) -> "GatewaySettings":
        if self.environment == "prod":
            require_production_secret("JWT_SECRET", self.jwt_secret, DEV_JWT_SECRET)
            if self.bootstrap_admin_password.get_secret_value() in ("", DEV_ADMIN_PASSWORD):
                raise ValueError("BOOTSTRAP_ADMIN_PASSWORD must be set in production (the dev default is refused)")
        return self

    def upstreams(self) -> dict[str, str]:
        """Domain → base URL of the owning service."""
        return {"grid": self.grid_url, "points": self.points_url, "dispatch": self.dispatch_url, "legal": self.legal_url}
