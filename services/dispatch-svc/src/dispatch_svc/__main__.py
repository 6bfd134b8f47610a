"""`dispatch-svc serve|migrate|topics`."""

from dispatch_svc.db import MIGRATIONS
from dispatch_svc.settings import DispatchSettings
from shared.cli import service_cli

cli = service_cli(
    name="dispatch-svc",
    settings_factory=DispatchSettings,
    app_factory="dispatch_svc.main:create_app",
    migrations=MIGRATIONS,
    default_port=8003,
)

if __name__ == "__main__":
    cli()
