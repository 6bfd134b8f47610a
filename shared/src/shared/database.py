"""Async database access for SQLite (aiosqlite) and PostgreSQL (asyncpg) from one URL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.outbox import PENDING_EVENTS, OutboxWriter


def normalise_url(url: str) -> str:
    """Map plain `sqlite:`/`postgresql:` URLs to their async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


class Database:
    """One engine, a session factory and the write discipline for the backend in use.

    SQLite takes one writer at a time; contending writers wait on its file lock and
    spike latency, so writes in this process are serialised with an asyncio lock.
    """

    def __init__(self, url: str, *, outbox: OutboxWriter | None = None, pool_size: int = 10) -> None:
        self.outbox = outbox
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict = {}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        else:
            # Overflow connections are closed when returned (some churn under bursts above pool_size), which keeps the
            # idle footprint at pool_size: keeping all 2 × pool_size open exhausted a shared PostgreSQL's max_connections.
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._commit_listeners: list[Callable[[], None]] = []

    def on_outbox_commit(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every commit that wrote outbox rows (it wakes the relay)."""
        self._commit_listeners.append(listener)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read session; nothing it does is committed."""
        async with self.sessionmaker() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write session committed on success and rolled back on error."""
        async with self._write_lock or nullcontext(), self.sessionmaker() as session, session.begin():
            yield session
            wrote_events = await self._write_outbox(session)
        if wrote_events:
            for listener in self._commit_listeners:
                listener()

    async def _write_outbox(self, session: AsyncSession) -> bool:
        if self.outbox is None:
            if session.info.get(PENDING_EVENTS):
                raise RuntimeError("events were emitted but this database has no outbox")
            return False
        return await self.outbox.write(session)

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DB-API types
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Lets prefix LIKE on materialised paths use the index, as on PostgreSQL.
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.close()
