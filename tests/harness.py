"""Running services for tests: real broker, real databases, apps in-process with their lifespans."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaProducer
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import MetaData, event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable

from shared.database import Database
from shared.events.base import DomainEvent
from shared.events.envelope import Envelope
from shared.identity import IDENTITY_HEADER, Identity, Role, issue_identity_token
from shared.ids import new_id
from shared.migrations import upgrade_async
from shared.settings import DEV_IDENTITY_SECRET
from shared.testing import create_postgres_database, drop_postgres_database, sqlite_url

T = TypeVar("T")

PLATFORM_ADMIN = Identity(subject="test-admin", name="test-admin", role=Role.PLATFORM_ADMIN)


def identity_headers(identity: Identity = PLATFORM_ADMIN, secret: str = DEV_IDENTITY_SECRET) -> dict[str, str]:
    """Headers that make a direct call to a service as `identity`.

    Valid for two hours, so headers built once at import outlive the whole suite (the gateway's
    own tokens live a minute).
    """
    return {IDENTITY_HEADER: issue_identity_token(identity, secret, ttl_seconds=7200)}


async def eventually(probe: Callable[[], Awaitable[T]], *, timeout: float = 60.0, interval: float = 0.1) -> T:
    """Wait until `probe` returns a truthy value (or stops raising AssertionError); return it.

    Events cross the broker asynchronously; the deadline is generous and never asserted on.
    """
    deadline = time.monotonic() + timeout
    last_error: AssertionError | None = None
    while time.monotonic() < deadline:
        try:
            result = await probe()
            if result:
                return result
        except AssertionError as exc:
            last_error = exc
        await asyncio.sleep(interval)
    if last_error is not None:
        raise last_error
    raise AssertionError("condition not met before the deadline")


async def advance_end_offsets(bootstrap_servers: str, topic: str) -> None:
    """Write one empty record to each partition of `topic`, from a single producer.

    When producers write to one partition at the same moment, the local broker's end offset can trail the
    acknowledged records until that partition's next write, hiding them from readers: a test that must read such
    records calls this once they are acknowledged.
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        for partition in sorted(await producer.partitions_for(topic)):
            await producer.send_and_wait(topic, b"", partition=partition, headers=[("ce_id", b"end-of-writes")])
    finally:
        await producer.stop()


def envelope_of(event: DomainEvent, source: str = "/grid-svc") -> Envelope:
    """A fresh envelope for `event`, as a consumer receives it."""
    return Envelope(id=new_id(), source=source, type=event.event_type, subject=event.subject, time=datetime.now(UTC))


async def analyze(database: Database, table: str) -> None:
    """Planner statistics for `table` (and on PostgreSQL the visibility map), as autovacuum leaves them after a load."""
    async with database.engine.connect() as connection:
        if database.is_sqlite:
            await connection.exec_driver_sql("ANALYZE")
        else:
            await connection.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM runs outside a transaction
            await connection.exec_driver_sql(f"VACUUM ANALYZE {table}")


async def plan_of(database: Database, statement: Executable) -> list[str]:
    """The plan the database chooses for `statement` with its bound values written in, a line per row."""
    compiled = statement.compile(database.engine.sync_engine, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN " if database.is_sqlite else "EXPLAIN "
    async with database.session() as session:
        return [str(row[-1]) for row in (await session.execute(text(explain + str(compiled)))).all()]


@contextmanager
def executions_on(engine: AsyncEngine, table: str) -> Iterator[list[tuple[str, int]]]:
    """(verb, rows) of each statement SQLAlchemy executes on `table` inside the block: an execution for many rows
    counts once, with their number."""
    executions: list[tuple[str, int]] = []

    def record(_conn, _cursor, statement, parameters, _context, executemany) -> None:  # noqa: ANN001 - event signature
        if f" {table} " in f" {statement} ":
            executions.append((statement.split()[0], len(parameters) if executemany else 1))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield executions
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@asynccontextmanager
async def statements_run(engine: AsyncEngine) -> AsyncIterator[list[str]]:
    """The SQL statements `engine` sends to the database inside the block, in order: those SQLAlchemy runs and,
    on PostgreSQL, those the hot-path reads hand to the driver directly (`shared.driver_reads`)."""
    run: list[str] = []
    drivers: list[Any] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:  # noqa: ANN001 - event signature
        run.append(statement)

    def logged(query) -> None:  # noqa: ANN001 - asyncpg's LoggedQuery
        run.append(query.query)

    def watch(dbapi_connection, _record, _proxy) -> None:  # noqa: ANN001 - pool event signature
        driver = dbapi_connection.driver_connection
        if hasattr(driver, "add_query_logger") and driver not in drivers:
            driver.add_query_logger(logged)
            drivers.append(driver)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    event.listen(engine.sync_engine, "checkout", watch)
    try:
        yield run
        await asyncio.sleep(0)  # the driver reports a statement on the event loop's next turn
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
        event.remove(engine.sync_engine, "checkout", watch)
        for driver in drivers:
            driver.remove_query_logger(logged)


class Databases:
    """Makes fresh databases on one backend and drops them at the end."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.tmp = tmp
        self._made: list[str] = []

    async def fresh(self, name: str) -> str:
        """A new empty database URL."""
        if self.backend == "sqlite":
            url = sqlite_url(self.tmp, f"{name}-{len(self._made)}")
        else:
            url = await create_postgres_database(prefix=name.replace("-", "_"))
        self._made.append(url)
        return url

    async def drop_all(self) -> None:
        """Drop every PostgreSQL database made here (SQLite files go with the temp dir)."""
        if self.backend == "postgresql":
            for url in self._made:
                await drop_postgres_database(url)


@asynccontextmanager
async def database_with(metadata: MetaData, backend: str, tmp: Path, name: str) -> AsyncIterator[Database]:
    """A fresh database on `backend` holding `metadata`'s tables; disposed of and dropped afterwards."""
    databases = Databases(backend, tmp)
    db = Database(await databases.fresh(name))
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield db
    finally:
        await db.dispose()
        await databases.drop_all()


@dataclass
class RunningService:
    """An app running in-process with its lifespan, and a client to it."""

    name: str
    app: FastAPI
    client: httpx.AsyncClient
    database_url: str

    @property
    def runtime(self) -> Any:
        """What the app's lifespan built (database, bus, relay, consumers)."""
        return self.app.state.runtime


@dataclass
class Stack:
    """Services sharing one broker and one database backend."""

    bootstrap_servers: str
    databases: Databases
    services: dict[str, RunningService] = field(default_factory=dict)
    exit_stack: AsyncExitStack = field(default_factory=AsyncExitStack)

    def env(self, database_url: str, **extra: Any) -> dict[str, Any]:
        """Settings shared by every service in tests."""
        return {
            "database_url": database_url,
            "kafka_bootstrap_servers": self.bootstrap_servers,
            "kafka_topic_partitions": 3,
            "kafka_session_timeout_ms": 6000,
            "kafka_fetch_max_wait_ms": 20,
            "log_level": os.environ.get("TEST_LOG_LEVEL", "WARNING"),
            **extra,
        }

    async def start(
        self,
        name: str,
        app_factory: Callable[..., FastAPI],
        settings_cls: type,
        migrations: Path,
        *,
        app_kwargs: dict[str, Any] | None = None,
        **settings_extra: Any,
    ) -> RunningService:
        """Migrate a fresh database, start the app's lifespan, and keep it running until `close`."""
        url = await self.databases.fresh(name)
        await upgrade_async(migrations, url)
        app = app_factory(settings_cls(**self.env(url, **settings_extra)), **(app_kwargs or {}))
        manager = await self.exit_stack.enter_async_context(LifespanManager(app, startup_timeout=60, shutdown_timeout=60))
        client = await self.exit_stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url=f"http://{name}")
        )
        service = RunningService(name=name, app=app, client=client, database_url=url)
        self.services[name] = service
        return service

    async def wait_consumers_assigned(self, timeout: float = 60.0) -> None:
        """Wait until every consumer of every service has joined its group and got partitions."""
        consumers = [c for s in self.services.values() for c in getattr(s.runtime, "consumers", [])]
        await asyncio.wait_for(asyncio.gather(*(c.assigned.wait() for c in consumers)), timeout=timeout)

    async def close(self) -> None:
        """Stop every service, then drop the databases."""
        await self.exit_stack.aclose()
        await self.databases.drop_all()
