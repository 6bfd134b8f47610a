"""`points-svc serve|migrate|topics`."""

from points_svc.db import MIGRATIONS
from points_svc.settings import PointsSettings
from shared.cli import service_cli

cli = service_cli(
    name="points-svc",
    settings_factory=PointsSettings,
    app_factory="points_svc.main:create_app",
    migrations=MIGRATIONS,
    default_port=8002,
)

if __name__ == "__main__":
    cli()
