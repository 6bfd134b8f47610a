"""`gateway serve|migrate|topics`."""

from gateway.db import MIGRATIONS
from gateway.settings import GatewaySettings
from shared.cli import service_cli

cli = service_cli(
    name="gateway",
    settings_factory=GatewaySettings,
    app_factory="gateway.main:create_app",
    migrations=MIGRATIONS,
    default_port=8000,
)

if __name__ == "__main__":
    cli()
