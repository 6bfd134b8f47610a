"""`python -m bench run` (what `make bench` calls): load scenarios with wrk, reported beside a bare endpoint.

Services run pinned to core 0 on PostgreSQL with the real broker; wrk runs pinned to core 1.
Every figure is also given as a ratio to the bare FastAPI endpoint measured in the same run,
because these machines are shared and noisy: only ratios compare across runs.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import typer

from bench.wrk import LoadResult, lua_script, run_wrk
from devstack.stack import ProcessStack
from shared.identity import IDENTITY_HEADER, Identity, Role, issue_identity_token
from shared.settings import DEV_IDENTITY_SECRET
from shared.testing import create_postgres_database, drop_postgres_database, free_port, postgres_available, wait_for_port

cli = typer.Typer(help="Benchmarks of the platform.", no_args_is_help=True)



@cli.callback()
def main() -> None:
    """Benchmarks of the platform (see `run`)."""


ADMIN = Identity(subject="bench-admin", name="bench", role=Role.PLATFORM_ADMIN)


def _identity_header(identity: Identity) -> dict[str, str]:
    # Long-lived on purpose: one token serves the whole run.
    return {IDENTITY_HEADER: issue_identity_token(identity, DEV_IDENTITY_SECRET, ttl_seconds=3600)}


def _seed_town(grid_url: str, *, villages: int, grids_per_village: int) -> dict[str, str]:
    """A county, a town, villages and grids through grid-svc's API; returns ids the scenarios use."""
    headers = _identity_header(ADMIN)
    with httpx.Client(base_url=grid_url, headers=headers, timeout=30) as client:
        def create(code: str, name: str, level: str, parent: str | None) -> str:
            body = {"code": code, "name": name, "level": level, "parent_id": parent}
            response = client.post("/api/v1/grid/units", json=body)
            response.raise_for_status()
            return response.json()["id"]

        county = create("140828", "夏县", "county", None)
        town = create("YW", "禹王镇", "town", county)
        village = None
        for v in range(villages):
            village = create(f"V{v:02d}", f"村{v}", "village", town)
            for g in range(grids_per_village):
                create(f"G{g:02d}", f"网格{g}", "grid", village)
    return {"county": county, "town": town, "village": village}


@cli.command()
def run(
    duration: int = typer.Option(10, help="seconds per scenario"),
    connections: int = typer.Option(32, help="concurrent connections"),
    villages: int = typer.Option(20, help="villages in the seeded town"),
    out: Path = typer.Option(Path("bench/out"), help="where reports go"),
) -> None:
    """Run every scenario once and write a Markdown and a JSON report."""
    if not postgres_available():
        typer.echo("PostgreSQL is required at 127.0.0.1:5432", err=True)
        raise typer.Exit(1)
    out.mkdir(parents=True, exist_ok=True)
    var = out / "var"
    names = ["grid-svc", "points-svc", "dispatch-svc", "legal-svc", "gateway"]
    urls = {name: asyncio.run(create_postgres_database(prefix="bench_" + name.replace("-", "_"))) for name in names}
    stack = ProcessStack(var=var, database_urls=urls, command_prefix=["taskset", "-c", "0"], extra_env={"LOG_LEVEL": "WARNING"})
    bare_port = free_port()
    bare = subprocess.Popen(
        ["taskset", "-c", "0", sys.executable, "-m", "uvicorn", "bench.bare:create_app", "--factory", "--port", str(bare_port),
         "--loop", "uvloop", "--http", "httptools", "--log-level", "warning"]
    )
    results: list[LoadResult] = []
    try:
        stack.start()
        wait_for_port(bare_port)
        grid = stack.services["grid-svc"].url
        gateway = stack.services["gateway"].url
        ids = _seed_town(grid, villages=villages, grids_per_village=2)
        token = httpx.post(f"{gateway}/api/v1/auth/token", data={"username": "admin", "password": "admin12345"}).json()["access_token"]
        admin = _identity_header(ADMIN)
        town_admin = _identity_header(Identity(subject="bench-town", role=Role.TOWN_ADMIN, scope_unit_id=ids["town"]))

        def measure(name: str, url: str, script: str) -> LoadResult:
            result = run_wrk(name, url, script=script, duration_s=duration, connections=connections)
            typer.echo(f"{name:<34} {result.requests_per_s:>9.0f} req/s  p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:7.1f} ms  errors {result.errors}")
            results.append(result)
            return result

        measure("bare FastAPI endpoint", f"http://127.0.0.1:{bare_port}/thing", lua_script())
        measure("grid: read one unit by id", f"{grid}/api/v1/grid/units/{ids['village']}", lua_script(headers=admin))
        measure("grid: scoped list of 50", f"{grid}/api/v1/grid/units?under={ids['town']}&per_page=50", lua_script(headers=town_admin))
        measure(
            "grid: create with outbox event",
            f"{grid}/api/v1/grid/units",
            lua_script(
                method="POST",
                headers={**admin, "Content-Type": "application/json"},
                body_template=json.dumps({"code": "B{n}", "name": "压测网格", "level": "grid", "parent_id": ids["village"]}),
            ),
        )
        measure("grid: subtree counts", f"{grid}/api/v1/grid/units/{ids['town']}/counts", lua_script(headers=admin))
        measure(
            "gateway hop: read one unit", f"{gateway}/api/v1/grid/units/{ids['village']}", lua_script(headers={"Authorization": f"Bearer {token}"})
        )
    finally:
        bare.terminate()
        stack.stop()
        for url in urls.values():
            asyncio.run(drop_postgres_database(url))
    _write_reports(out, results, duration=duration, connections=connections)


def _write_reports(out: Path, results: list[LoadResult], *, duration: int, connections: int) -> None:
    baseline = results[0].requests_per_s or 1.0
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    data = {
        "when": stamp,
        "duration_s": duration,
        "connections": connections,
        "results": [{**r.as_dict(), "ratio_to_bare": round(r.requests_per_s / baseline, 4)} for r in results],
    }
    (out / f"{stamp}.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
    lines = [
        f"# Benchmark {stamp}",
        "",
        f"{duration} s per scenario, {connections} connections; services on core 0, wrk on core 1.",
        "",
        "| scenario | req/s | × bare | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r.scenario} | {r.requests_per_s:.0f} | {r.requests_per_s / baseline:.3f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.errors} |")
    (out / f"{stamp}.md").write_text("\n".join(lines) + "\n")
    typer.echo(f"reports: {out / (stamp + '.md')}, {out / (stamp + '.json')}")


if __name__ == "__main__":
    cli()
