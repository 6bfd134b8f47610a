"""`points-svc serve|migrate|topics|verify`."""

import asyncio
import json

import typer

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


@cli.command()
def verify(branch: str | None = typer.Option(None, help="one branch (village unit id); every branch when omitted")) -> None:
    """Re-walk the ledger's hash chains; exit 1 and name the first broken link if any chain is broken."""
    import points_svc.models  # noqa: F401  registers every table
    from points_svc.ledger.service import verify_chains
    from shared.database import Database

    async def run() -> bool:
        database = Database(PointsSettings().database_url)
        try:
            async with database.snapshot() as session:
                report = await verify_chains(session, identity=None, branch_unit_id=branch)
        finally:
            await database.dispose()
        for chain in report.branches:
            if chain.ok:
                typer.echo(f"ok      {chain.branch_unit_id}: {chain.entries_checked} entries")
            else:
                typer.echo(f"BROKEN  {chain.branch_unit_id}: " + json.dumps(chain.first_broken.model_dump()))
        typer.echo(f"{len(report.branches)} chains checked: " + ("all intact" if report.ok else "tampering detected"))
        return report.ok

    if not asyncio.run(run()):
        raise typer.Exit(1)


if __name__ == "__main__":
    cli()
