"""`python -m devstack run` (what `make run` calls): everything up on one machine, Ctrl-C stops it."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import typer

from demo.client import ApiError
from demo.load import Loader, LoadOptions
from demo.tour import tour_lines
from demo.town import Sizes
from devstack.stack import ProcessStack

cli = typer.Typer(help="Run the platform locally.", no_args_is_help=True)


# `make run` keeps the demo quick: one household per micro grid (the 41/139/431 shape and the report's figures hold).
DEMO_SIZES = Sizes(households_per_micro_grid=1)


def load_demo(gateway: str, var: Path) -> list[str]:
    """Load the demo town unless the system holds other data; the tour's lines to print (or why there are none)."""
    loader = Loader(LoadOptions(gateway=gateway, sizes=DEMO_SIZES, key_file=var / "demo-county-key"), log=typer.echo)
    try:
        if loader.holds_other_data():
            return ["demo         not loaded: the system already holds other data (python -m demo load adds it anyway)"]
        typer.echo("loading the demo town 禹王镇 through the gateway (make run DEMO=0 skips this)…")
        result = loader.run()
    except (ApiError, TimeoutError, httpx.HTTPError) as exc:
        return [f"demo         failed to load: {exc}"]
    finally:
        loader.close()
    verb = "already loaded" if result.already_loaded else f"loaded in {result.seconds:.0f}s"
    return [f"demo         {verb}", *tour_lines(result, gateway)]


@cli.command()
def run(
    var: Path = typer.Option(Path("var"), help="where SQLite files and logs go"),
    broker_port: int = typer.Option(9092, help="port of the local broker"),
    demo: bool = typer.Option(True, "--demo/--no-demo", help="load the demo town 禹王镇 once the stack is up"),
) -> None:
    """Start the broker, migrate every database, start the five services on 8000–8004, load the demo town; Ctrl-C stops all."""
    stack = ProcessStack(var=var.resolve(), broker_port=broker_port, default_ports=True)
    try:
        stack.start()
        gateway = stack.services["gateway"].url
        skipped = ["demo         not loaded (--no-demo)", "login        admin / admin12345 (dev mode only)"]
        tour = load_demo(gateway, stack.var) if demo else skipped
        lines = [
            "",
            f"broker       {stack.broker.bootstrap_servers} (in memory: events do not survive a restart)",
            f"gateway      {gateway}        API docs: {gateway}/docs",
            *(f"{s.name:<13}{s.url}/docs" for s in stack.services.values() if s.name != "gateway"),
            f"ready        {gateway}/readyz",
            f"logs         {stack.var / 'logs'}",
            *tour,
            "(demo accounts and default passwords work in dev mode only)",
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
