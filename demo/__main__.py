"""`python -m demo load …`: build the demo county through the gateway's public API."""

from __future__ import annotations

from pathlib import Path

import typer

from demo import accounts
from demo.client import ApiError
from demo.load import Loader, LoadOptions, LoadResult
from demo.tour import tour_lines
from demo.town import Sizes

cli = typer.Typer(help="The demo town (禹王镇, 夏县) and county-sized data, loaded through the gateway.", no_args_is_help=True)


@cli.command()
def load(
    gateway: str = typer.Option("http://127.0.0.1:8000", help="the gateway's base URL"),
    seed: int = typer.Option(7, help="the same seed and sizes always give the same data"),
    towns: int = typer.Option(1, min=1, help="towns of the county: 禹王镇 first, then the county's others"),
    villages: int = typer.Option(14, min=1, help="villages per town"),
    grids: int = typer.Option(41, min=1, help="grids per town"),
    small_grids: int = typer.Option(139, min=1, help="small grids per town"),
    micro_grids: int = typer.Option(431, min=1, help="micro grids per town"),
    households_per_micro_grid: int = typer.Option(3, min=1, help="households in each micro grid"),
    orders_per_village: int = typer.Option(4, min=0, help="residents' orders per village"),
    admin_username: str = typer.Option(accounts.ADMIN_USERNAME, help="a platform admin (the bootstrap admin in dev)"),
    admin_password: str = typer.Option(accounts.ADMIN_PASSWORD, envvar="DEMO_ADMIN_PASSWORD", help="its password"),
    key_file: Path = typer.Option(Path("var/demo-county-key"), help="where the county system's API key is kept between runs"),
    concurrency: int = typer.Option(8, min=1, max=64, help="requests in flight"),
) -> None:
    """Load the demo county; a town already loaded is left alone ("already loaded")."""
    sizes = Sizes(
        seed=seed,
        towns=towns,
        villages=villages,
        grids=grids,
        small_grids=small_grids,
        micro_grids=micro_grids,
        households_per_micro_grid=households_per_micro_grid,
        orders_per_village=orders_per_village,
    )
    try:
        sizes.shape()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    options = LoadOptions(
        gateway=gateway,
        sizes=sizes,
        admin_username=admin_username,
        admin_password=admin_password,
        key_file=key_file,
        concurrency=concurrency,
    )
    loader = Loader(options, log=typer.echo)
    try:
        result = loader.run()
    except ApiError as exc:
        typer.echo(f"the platform refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    except TimeoutError as exc:
        typer.echo(f"gave up: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        loader.close()
    typer.echo(summary(result, gateway))


def summary(result: LoadResult, gateway: str) -> str:
    """What was loaded and where to look."""
    if result.already_loaded:
        head = "already loaded: " + ", ".join(f"{t.name} ({t.unit_id})" for t in result.towns)
    else:
        head = f"loaded {len([t for t in result.towns if not t.already_loaded])} town(s) in {result.seconds:.0f}s"
    return "\n".join([head, *tour_lines(result, gateway)])


@cli.command("accounts")
def list_accounts() -> None:
    """Print the demo log-ins (dev mode only)."""
    typer.echo("\n".join(accounts.banner_lines()))


if __name__ == "__main__":
    cli()
