"""The command line every service shares: `serve`, `migrate`, `topics`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import typer
import uvicorn

from shared.events.topics import all_topics
from shared.kafka import ensure_topics
from shared.migrations import upgrade
from shared.settings import ServiceSettings


def service_cli(
    *,
    name: str,
    settings_factory: Callable[[], ServiceSettings],
    app_factory: str,
    migrations: Path,
    default_port: int,
) -> typer.Typer:
    """A Typer app with the commands every service has; a service may add its own."""
    cli = typer.Typer(name=name, help=f"{name}: run, migrate and operate the service.", no_args_is_help=True)

    @cli.command()
    def migrate(revision: str = "head") -> None:
        """Bring the service's database to the latest schema."""
        settings = settings_factory()
        upgrade(migrations, settings.database_url, revision)
        typer.echo(f"{name}: database at {revision}")

    @cli.command()
    def serve(host: str = "127.0.0.1", port: int = default_port, migrate_first: bool = False) -> None:
        """Run the HTTP service (uvloop + httptools)."""
        if migrate_first:
            migrate()
        uvicorn.run(app_factory, factory=True, host=host, port=port, loop="uvloop", http="httptools", log_level="warning")

    @cli.command()
    def topics() -> None:
        """Create every platform topic with its fixed partition count."""
        settings = settings_factory()
        asyncio.run(
            ensure_topics(
                settings.kafka_bootstrap_servers,
                all_topics(),
                partitions=settings.kafka_topic_partitions,
                replication_factor=settings.kafka_replication_factor,
            )
        )
        typer.echo("topics ready: " + ", ".join(all_topics()))

    return cli


__all__ = ["service_cli"]
