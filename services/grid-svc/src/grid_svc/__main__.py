"""`grid-svc serve|migrate|topics`."""

from grid_svc.db import MIGRATIONS
from grid_svc.settings import GridSettings
from shared.cli import service_cli

cli = service_cli(
    name="grid-svc",
    settings_factory=GridSettings,
    app_factory="grid_svc.main:create_app",
    migrations=MIGRATIONS,
    default_port=8001,
)

if __name__ == "__main__":
    cli()
