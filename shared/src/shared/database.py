"""Async database access for SQLite (aiosqlite) and PostgreSQL (asyncpg) from one URL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from contextlib import asynccontextmanager, nullcontext
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Table, bindparam, event, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert
from sqlalchemy.util import await_, greenlet_spawn

from shared.driver_reads import DriverStatement, compile_for_driver
from shared.outbox import PENDING_EVENTS, OutboxWriter

T = TypeVar("T")


def normalise_url(url: str) -> str:
    """Map plain `sqlite:`/`postgresql:` URLs to their async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


class Database:
    """Two pools on one database: autocommit reads and transactional writes.

    Reads run in autocommit mode on their own pool: one statement is one round trip, with no
    BEGIN/ROLLBACK around it and no isolation level switched per checkout (a read session
    refuses to flush, so nothing can be written through it). Writes run in transactions.

    SQLite takes one writer at a time; contending writers wait on its file lock and
    spike latency, so writes in this process are serialised with an asyncio lock.
    """

    def __init__(
        self,
        url: str,
        *,
        outbox: OutboxWriter | None = None,
        pool_size: int = 10,
        max_overflow: int = 5,
        read_pool_size: int = 4,
    ) -> None:
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
            # Reads never overflow: they are short, so waiting for a connection is cheap, while an overflow
            # connection is opened and closed again and again under sustained load (a new PostgreSQL backend each
            # time). So a read must never wait for a second read connection while holding one. The read pool is
            # small on purpose: more reads in flight than the database has cores only make its backends and this
            # process take turns on the same cores (measured in bench/RESULTS.md). Writes mostly wait on commits,
            # so their pool is larger and may overflow by max_overflow.
            # At most read_pool_size + pool_size + max_overflow connections.
            # No pre-ping (a round trip per checkout): a connection the server closed is dropped at checkout, and
            # one that dies in use invalidates its pool and answers that one request 503 (retryable).
            kwargs["pool_recycle"] = 1800
            # No JIT compilation: it pays off only for long analytic queries, and the planner's cost estimates of a
            # report's aggregates cross its threshold at a prefecture's size, where compiling took 89 ms of a town
            # summary's 163 ms in PostgreSQL, on every execution (bench/RESULTS.md).
            kwargs["connect_args"] = {"server_settings": {"jit": "off"}}
        write_pool = {} if self.is_sqlite else {"pool_size": pool_size, "max_overflow": max_overflow}
        read_pool = {} if self.is_sqlite else {"pool_size": read_pool_size, "max_overflow": 0}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs, **write_pool)
        self.reader: AsyncEngine = create_async_engine(self.url, isolation_level="AUTOCOMMIT", **kwargs, **read_pool)
        for engine in (self.engine, self.reader):
            if self.is_sqlite:
                event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            else:
                event.listen(engine.sync_engine, "checkout", _drop_closed_connection)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.reader, sync_session_class=ReadSession, expire_on_commit=False, autoflush=False)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        # Hot reads take the read pool's connections in turn (an asyncio.Semaphore queues its waiters in order).
        # SQLAlchemy's async pool hands a returned connection to whichever coroutine asks next, and a request of
        # several reads asks again at once, ahead of those already waiting: under 32 concurrent requests a notice
        # (three reads) answered in 9 ms at the median and 960 ms at p99 (bench/RESULTS.md).
        self._read_turns = None if self.is_sqlite else asyncio.Semaphore(read_pool_size)
        # Per statement object run on PostgreSQL: its columns' names once SQLAlchemy has run it, then its form
        # compiled for the driver (False when only SQLAlchemy can run it).
        self._driver_statements: WeakKeyDictionary[Executable, tuple[str, ...] | DriverStatement | bool] = WeakKeyDictionary()
        self._commit_listeners: list[Callable[[], None]] = []

    def on_outbox_commit(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every commit that wrote outbox rows (it wakes the relay)."""
        self._commit_listeners.append(listener)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read session in autocommit mode: each query is its own snapshot, and results cannot be streamed
        (use `snapshot()` for both). It refuses to flush: writes go through `transaction()`."""
        async with self._read_sessions() as session:
            yield session

    async def fetch_one(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Row | None:
        """The first row of a Core query, or None: the hot-path read (one round trip, no ORM session).
        Columns are attributes of the row, so API models validate it `from_attributes`.

        Hot paths build `statement` once at import with named `bindparam`s: on PostgreSQL such a statement is
        compiled once and run by the driver itself (`shared.driver_reads`); elsewhere SQLAlchemy finds its
        compiled form in its cache instead of rebuilding and hashing the query per request.
        """
        rows = await self._read(statement, params, first=True)
        return rows[0] if rows else None

    async def fetch_all(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Sequence[Row]:
        """Every row of a Core query (see `fetch_one`)."""
        return await self._read(statement, params, first=False)

    async def _read(self, statement: Executable, params: Mapping[str, Any] | None, *, first: bool) -> Sequence[Row]:
        known = None if self.is_sqlite else self._driver_statements.get(statement)
        if isinstance(known, tuple):  # run once by SQLAlchemy, which named its columns: compile it for the driver
            known = self._driver_statements[statement] = compile_for_driver(statement, known, self.reader.dialect) or False
        async with self._read_turns or nullcontext():
            if known:
                rows = await greenlet_spawn(self._driver_read, known, known.arguments(params), first)
                if rows is not None:
                    return rows
            async with self.reader.connect() as conn:
                result = await conn.execute(statement, params)
                if known is None and not self.is_sqlite:
                    # Compiled for the driver on its second run: a statement built per request (its values inside) is
                    # never run twice, so it costs no compilation beside SQLAlchemy's cached one.
                    self._driver_statements[statement] = tuple(result.keys())
                if first:
                    row = result.first()
                    return [row] if row is not None else []
                return result.all()

    def _driver_read(self, statement: DriverStatement, arguments: list[Any], first: bool) -> list[Row] | None:
        # Runs as SQLAlchemy's own sync code does: the pool's checkout and checkin are plain calls here and the
        # driver's coroutines are awaited with `await_` (one greenlet per read, not a Connection and two).
        connection = None
        try:
            connection = self.reader.sync_engine.raw_connection()
            driver = connection.driver_connection
            await_(statement.describe(driver))
            if first:
                record = await_(driver.fetchrow(statement.sql, *arguments))
                return statement.rows([record] if record is not None else [])
            return statement.rows(await_(driver.fetch(statement.sql, *arguments)))
        except Exception:  # noqa: BLE001 - a read is safe to repeat, and the caller's SQLAlchemy run raises its own
            # errors (a database refusing connections: the DBAPIError answered 503) and invalidates a dead connection,
            # as on every other path (a closed one is dropped at checkout); the raw pool raises the driver's own.
            return None
        finally:
            if connection is not None:
                connection.close()  # back to the pool

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        """A read session inside one transaction: every query sees the same snapshot, and results can be streamed."""
        async with self.sessionmaker(sync_session_class=ReadSession, autoflush=False) as session:
            yield session  # begun by the first query, rolled back on close

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
        async with self.reader.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        await self.reader.dispose()


class ReadSession(Session):
    """The session behind `Database.session()`: reads only."""


def dialect_insert(session: AsyncSession) -> Callable[[Table], Insert]:
    """The `insert` of the session's database, which can say ON CONFLICT (PostgreSQL and SQLite spell it alike)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def upsert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str] = ("id",),
    refresh: Sequence[str] | None = None,
) -> None:
    """Insert `rows`; where a row's `key` is taken, write its `refresh` columns (by default every column the rows
    give but the key) instead. One execution for all rows: the driver runs the statement per row, in order, so a
    later row sees an earlier one as if each were applied alone."""
    if not rows:
        return
    refreshed = refresh if refresh is not None else [column for column in rows[0] if column not in key]
    statement = _on_conflict(session.get_bind().dialect.name, table, tuple(key), tuple(refreshed), add=False)
    await session.execute(statement, list(rows))


async def accumulate(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]], *, key: Sequence[str], add: Sequence[str]
) -> None:
    """Insert `rows`; where a row's `key` is taken, add its `add` columns to the stored ones instead (counters
    kept in the same transaction as what they count). One execution for all rows, run by the driver per row, in
    order: give the rows in key order, so two writers never wait on each other's rows in a circle."""
    if not rows:
        return
    await session.execute(accumulating_insert(session.get_bind().dialect.name, table, key=key, add=add), list(rows))


def accumulating_insert(dialect: str, table: Table, *, key: Sequence[str], add: Sequence[str]) -> Insert:
    """The statement behind `accumulate` for a database dialect's name, to run as it is or to give rows from a
    SELECT (`from_select`), as a WITH of a larger statement may."""
    return _on_conflict(dialect, table, tuple(key), tuple(add), add=True)


@cache
def _on_conflict(dialect: str, table: Table, key: tuple[str, ...], columns: tuple[str, ...], *, add: bool) -> Insert:
    """INSERT into `table` that, where `key` is taken, writes `columns` (or adds them to the stored ones).

    Built once per shape: SQLAlchemy's building of one took about a tenth of grid-svc's time in a unit create."""
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    excluded = statement.excluded
    values = {column: table.c[column] + excluded[column] if add else excluded[column] for column in columns}
    return statement.on_conflict_do_update(index_elements=list(key), set_=values)


async def update_by_key(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]], *, key: str = "id") -> None:
    """Write each row's other columns to the row of `table` with its `key` (a key not in the table changes
    nothing). One execution for all rows, run by the driver per row, in order."""
    if not rows:
        return
    # Bound under other names than the columns': a name equal to a column's is reserved for the SET clause.
    columns = [column for column in rows[0] if column != key]
    statement = (
        update(table).where(table.c[key] == bindparam(f"row_{key}")).values({column: bindparam(f"row_{column}") for column in columns})
    )
    await session.execute(statement, [{f"row_{column}": value for column, value in row.items()} for row in rows])


async def once_per_read(session: AsyncSession, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
    """`load()` once per read session (a request asking twice gets the first answer); in a write transaction,
    every time, since the transaction itself may change the answer."""
    if not isinstance(session.sync_session, ReadSession):
        return await load()
    if key not in session.info:
        session.info[key] = await load()
    return session.info[key]


@event.listens_for(ReadSession, "before_flush")
def _refuse_writes(session: Session, _context, _instances) -> None:  # noqa: ANN001 - SQLAlchemy event signature
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a read session cannot write: use Database.transaction()")


def _drop_closed_connection(dbapi_connection, _record, _proxy) -> None:  # noqa: ANN001 - pool event signature
    # The driver notices a connection the server closed (restart, terminated backend) without a round trip;
    # raising DisconnectionError makes the pool discard it and hand out another.
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("connection closed by the server")


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DB-API types
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Lets prefix LIKE on materialised paths use the index, as on PostgreSQL.
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.close()
