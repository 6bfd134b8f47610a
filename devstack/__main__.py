"""`python -m devstack run` (what `make run` calls): everything up on one machine, Ctrl-C stops it."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from devstack.stack import ProcessStack

cli = typer.Typer(help="Run the platform locally.", no_args_is_help=True)


@cli.command()
def run(
    var: Path = typer.Option(Path("var"), help="where SQLite files and logs go"),
    broker_port: int = typer.Option(9092, help="port of the local broker"),
) -> None:
    """Start the broker, migrate every database, start the five services on 8000–8004; Ctrl-C stops all."""
    stack = ProcessStack(var=var.resolve(), broker_port=broker_port, default_ports=True)
    try:
        stack.start()
        gateway = stack.services["gateway"].url
        lines = [
            "",
            f"broker       {stack.broker.bootstrap_servers} (in memory: events do not survive a restart)",
            f"gateway      {gateway}        API docs: {gateway}/docs",
            *(f"{s.name:<13}{s.url}/docs" for s in stack.services.values() if s.name != "gateway"),
            f"ready        {gateway}/readyz",
            f"logs         {stack.var / 'logs'}",
            "login        admin / admin12345 (dev mode only)",
            "",
            "Ctrl-C stops everything.",
        ]
        typer.echo("\n".join(lines))
        while not stack.exited():
            time.sleep(0.5)
        typer.echo(f"{', '.join(stack.exited())} exited; see {stack.var / 'logs'}", err=True)
        raise typer.Exit(1)
    except KeyboardInterrupt:
        typer.echo("\nstopping…")
    finally:
        stack.stop()


@cli.command()
def version() -> None:
    """Print the platform version."""
    typer.echo("0.1.0")


if __name__ == "__main__":
    cli()
