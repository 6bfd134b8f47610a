"""legal-svc configuration (environment variables; see README)."""

from shared.settings import ServiceSettings


class LegalSettings(ServiceSettings):
    """Settings of legal-svc."""

    service_name: str = "legal-svc"
