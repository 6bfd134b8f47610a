"""dispatch-svc configuration (environment variables; see README)."""

from shared.settings import ServiceSettings


class DispatchSettings(ServiceSettings):
    """Settings of dispatch-svc."""

    service_name: str = "dispatch-svc"
