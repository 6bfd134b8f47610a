"""`legal-svc serve|migrate|topics`."""

from legal_svc.db import MIGRATIONS
from legal_svc.settings import LegalSettings
from shared.cli import service_cli

cli = service_cli(
    name="legal-svc",
    settings_factory=LegalSettings,
    app_factory="legal_svc.main:create_app",
    migrations=MIGRATIONS,
    default_port=8004,
)

if __name__ == "__main__":
    cli()
