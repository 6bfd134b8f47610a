"""grid-svc configuration (environment variables; see README)."""

from shared.settings import ServiceSettings


class GridSettings(ServiceSettings):
    """Settings of grid-svc."""

    service_name: str = "grid-svc"
