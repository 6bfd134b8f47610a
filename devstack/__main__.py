"""`python -m devstack run` (what `make run` calls): everything up on one machine, Ctrl-C stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import typer

from shared.testing import LocalBroker, wait_for_port

SERVICES = [
    ("grid-svc", "grid_svc", 8001),
    ("points-svc", "points_svc", 8002),
    ("dispatch-svc", "dispatch_svc", 8003),
    ("legal-svc", "legal_svc", 8004),
    ("gateway", "gateway", 8000),
]

cli = typer.Typer(help="Run the platform locally.", no_args_is_help=True)


def _service_env(base: dict[str, str], var: Path, name: str, bootstrap: str) -> dict[str, str]:
    env = dict(base)
    env.setdefault("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
    env["DATABASE_URL"] = env.get(f"{name.upper().replace('-', '_')}_DATABASE_URL", f"sqlite+aiosqlite:///{var / (name + '.db')}")
    env.setdefault("LOG_LEVEL", "INFO")
    return env


@cli.command()
def run(
    var: Path = typer.Option(Path("var"), help="where SQLite files and logs go"),
    broker_port: int = typer.Option(9092, help="port of the local broker"),
    host: str = typer.Option("127.0.0.1", help="address the services listen on"),
) -> None:
    """Start the broker, migrate every database, start the five services; Ctrl-C stops all."""
    var = var.resolve()
    logs = var / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    broker = LocalBroker.start(broker_port, log_path=logs / "broker.log")
    bootstrap = broker.bootstrap_servers
    typer.echo(f"broker      {bootstrap} (in memory: events do not survive a restart)")
    processes: list[tuple[str, subprocess.Popen]] = []
    try:
        subprocess.run([sys.executable, "-m", "grid_svc", "topics"], env=_service_env(dict(os.environ), var, "grid-svc", bootstrap), check=True)
        for name, package, _ in SERVICES:
            subprocess.run([sys.executable, "-m", package, "migrate"], env=_service_env(dict(os.environ), var, name, bootstrap), check=True)
        for name, package, port in SERVICES:
            log_file = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child process
            process = subprocess.Popen(
                [sys.executable, "-m", package, "serve", "--host", host, "--port", str(port)],
                env=_service_env(dict(os.environ), var, name, bootstrap),
                stdout=log_file,
                stderr=log_file,
            )
            processes.append((name, process))
        for name, _, port in SERVICES:
            wait_for_port(port, timeout=60, host=host)
        _wait_ready(f"http://{host}:8000/readyz")
        typer.echo(
            "\n".join(
                [
                    "",
                    f"gateway     http://{host}:8000        API docs: http://{host}:8000/docs",
                    *(f"{name:<11} http://{host}:{port}/docs" for name, _, port in SERVICES[:-1]),
                    f"ready       http://{host}:8000/readyz",
                    f"logs        {logs}",
                    "login       admin / admin12345 (dev mode only)",
                    "",
                    "Ctrl-C stops everything.",
                ]
            )
        )
        while True:
            for name, process in processes:
                if process.poll() is not None:
                    typer.echo(f"{name} exited with {process.returncode}; see {logs / (name + '.log')}", err=True)
                    raise typer.Exit(1)
            time.sleep(0.5)
    except KeyboardInterrupt:
        typer.echo("\nstopping…")
    finally:
        for _, process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for _, process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        broker.stop()


def _wait_ready(url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    typer.echo(f"warning: {url} not ready after {timeout:.0f}s", err=True)


@cli.command()
def version() -> None:
    """Print the platform version."""
    typer.echo("0.1.0")


if __name__ == "__main__":
    cli()
