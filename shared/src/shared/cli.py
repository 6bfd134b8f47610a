"""The command line every service shares: `serve`, `migrate`, `topics`, `dlq list|replay`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import typer
import uvicorn

from shared.dlq import read_dead_letters, replay
from shared.events.topics import DOMAIN_TOPICS, all_topics
from shared.kafka import EventBus, ensure_topics
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

    dlq = typer.Typer(help="Dead-letter topics: list and replay.", no_args_is_help=True)
    cli.add_typer(dlq, name="dlq")

    @dlq.command("list")
    def dlq_list(topic: str = typer.Argument(..., help=f"one of {', '.join(DOMAIN_TOPICS)}"), limit: int = 100) -> None:
        """Show what landed in `<topic>.dlq`: position, consumer, event and error."""
        settings = settings_factory()
        letters = asyncio.run(read_dead_letters(settings.kafka_bootstrap_servers, topic, limit=limit))
        for d in letters:
            typer.echo(f"{d.partition}:{d.offset}\t{d.consumer}\t{d.event_type}\t{d.event_id}\t{d.error}")
        typer.echo(f"{len(letters)} dead letter(s) in {topic}.dlq")

    @dlq.command("replay")
    def dlq_replay(
        topic: str = typer.Argument(..., help=f"one of {', '.join(DOMAIN_TOPICS)}"),
        consumer: str | None = typer.Option(None, help="only letters this consumer group gave up on"),
        event_id: str | None = typer.Option(None, help="only this event"),
    ) -> None:
        """Send dead letters back to their topic (consumers that applied them already skip them)."""
        settings = settings_factory()

        async def run() -> int:
            letters = await read_dead_letters(settings.kafka_bootstrap_servers, topic, limit=100_000)
            chosen = [d for d in letters if (consumer is None or d.consumer == consumer) and (event_id is None or d.event_id == event_id)]
            bus = EventBus(settings.kafka_bootstrap_servers, enable_idempotence=settings.kafka_enable_idempotence)
            try:
                return await replay(bus, topic, chosen)
            finally:
                await bus.close()

        typer.echo(f"replayed {asyncio.run(run())} message(s) to {topic}")

    return cli


__all__ = ["service_cli"]
