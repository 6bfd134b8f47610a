"""points-svc configuration (environment variables; see README)."""

from shared.settings import ServiceSettings


class PointsSettings(ServiceSettings):
    """Settings of points-svc."""

    service_name: str = "points-svc"
