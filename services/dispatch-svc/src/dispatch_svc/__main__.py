"""`dispatch-svc serve|migrate|topics|sweep-overdue`."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from dispatch_svc.db import MIGRATIONS, platform
from dispatch_svc.settings import DispatchSettings
from shared.cli import service_cli

cli = service_cli(
    name="dispatch-svc",
    settings_factory=DispatchSettings,
    app_factory="dispatch_svc.main:create_app",
    migrations=MIGRATIONS,
    default_port=8003,
)


@cli.command("sweep-overdue")
def sweep_overdue(
    as_of: Annotated[str | None, typer.Option(help="judge deadlines as of this ISO instant with offset (default: now)")] = None,
) -> None:
    """Flag and escalate overdue orders once; the events go out through the outbox like any other."""
    from dispatch_svc.orders.overdue import sweep
    from shared.database import Database
    from shared.outbox import OutboxWriter

    settings = DispatchSettings()
    now = datetime.fromisoformat(as_of) if as_of else datetime.now(UTC)
    if now.tzinfo is None:
        raise typer.BadParameter("--as-of needs a timezone offset, e.g. 2026-03-10T09:00:00+08:00")

    async def run() -> None:
        database = Database(
            settings.database_url, outbox=OutboxWriter(platform.outbox, source=settings.event_source, max_bytes=settings.event_max_bytes)
        )
        try:
            result = await sweep(database, now=now, town_after=timedelta(hours=settings.escalate_to_town_after_hours))
        finally:
            await database.dispose()
        typer.echo(result.model_dump_json(indent=2))

    asyncio.run(run())


if __name__ == "__main__":
    cli()
