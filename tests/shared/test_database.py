"""Database sessions: reads in autocommit that cannot write, the read pool's bound and turns, connections the server closed,
and hot-path reads run by the PostgreSQL driver itself, row for row as SQLAlchemy runs them."""

from __future__ import annotations

import asyncio
import enum
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from harness import Databases, database_with, eventually
from shared.columns import UTCDateTime
from shared.database import Database, accumulate

METADATA = sa.MetaData()
NOTES = sa.Table("notes", METADATA, sa.Column("id", sa.Integer, primary_key=True), sa.Column("text", sa.String(50)))

COUNTERS = sa.Table(
    "counters",
    METADATA,
    sa.Column("key", sa.String(10), primary_key=True),
    sa.Column("label", sa.String(10)),
    sa.Column("hits", sa.Integer),
    sa.Column("points", sa.Integer),
)


class Note:
    pass


sa.orm.registry().map_imperatively(Note, NOTES)


class Colour(enum.StrEnum):
    RED = "red"
    GREEN = "green"


# One column of every kind the services store, for the driver's reads to be checked against SQLAlchemy's.
TYPED = sa.Table(
    "typed",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(20)),
    sa.Column("colour", sa.Enum(Colour, native_enum=False, length=10)),
    sa.Column("hue", sa.Enum(Colour, name="hue")),
    sa.Column("shape", sa.JSON),
    sa.Column("tags", sa.dialects.postgresql.JSONB().with_variant(sa.JSON, "sqlite")),
    sa.Column("ratio", sa.Float),
    sa.Column("amount", sa.Numeric(10, 2)),
    sa.Column("fen", sa.BigInteger),
    sa.Column("done", sa.Boolean),
    sa.Column("day", sa.Date),
    sa.Column("at", UTCDateTime()),
    sa.Column("stamp", sa.DateTime(timezone=True)),
)
TYPED_FROM = (
    sa.select(TYPED, sa.func.count().over().label("total"), (TYPED.c.fen + sa.literal(1)).label("next_fen"))
    .where(TYPED.c.id >= sa.bindparam("from_id"), TYPED.c.colour != sa.bindparam("not_colour", type_=TYPED.c.colour.type))
    .order_by(TYPED.c.id)
)
TYPED_COUNT = sa.select(sa.func.count()).select_from(TYPED).where(TYPED.c.day < sa.bindparam("before", type_=sa.Date))
TYPED_IN = sa.select(TYPED.c.id).where(TYPED.c.id.in_(sa.bindparam("ids", expanding=True))).order_by(TYPED.c.id)
TYPED_AS_NUMBER = sa.select(sa.cast(sa.bindparam("text", type_=sa.String), sa.Integer))
TWO = sa.select(sa.literal(2).label("two"))


@pytest.fixture
async def database(backend, tmp_path):
    async with database_with(METADATA, backend, tmp_path, "db") as db:
        yield db


@pytest.fixture
async def postgres(tmp_path):
    """A fresh PostgreSQL database: its URL and an admin handle on it, disposed of and dropped afterwards."""
    databases = Databases("postgresql", tmp_path)
    admin = Database(await databases.fresh("db"))
    try:
        yield admin.url, admin
    finally:
        await admin.dispose()
        await databases.drop_all()


async def test_a_read_session_reads_committed_rows_and_refuses_to_write(database: Database):
    async with database.transaction() as session:
        await session.execute(NOTES.insert().values(id=1, text="kept"))
    async with database.session() as session:
        assert (await session.execute(sa.select(NOTES.c.text))).scalars().all() == ["kept"]
        note = Note()
        note.id, note.text = 2, "written through a read session"
        session.add(note)
        with pytest.raises(RuntimeError, match="read session cannot write"):
            await session.flush()
    async with database.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(NOTES)) == 1


async def test_accumulate_adds_to_the_counters_of_taken_keys_and_inserts_the_others(database: Database):
    async with database.transaction() as session:
        await accumulate(session, COUNTERS, [{"key": "a", "label": "first", "hits": 1, "points": 5}], key=["key"], add=["hits", "points"])
    async with database.transaction() as session:
        rows = [
            {"key": "a", "label": "second", "hits": 2, "points": -3},
            {"key": "b", "label": "new", "hits": 1, "points": 0},
            {"key": "a", "label": "third", "hits": 1, "points": 1},  # a later row adds to what the earlier one left
        ]
        await accumulate(session, COUNTERS, rows, key=["key"], add=["hits", "points"])
        await accumulate(session, COUNTERS, [], key=["key"], add=["hits"])
    async with database.session() as session:
        stored = (await session.execute(sa.select(COUNTERS).order_by(COUNTERS.c.key))).all()
    # Columns not added keep the first row's value.
    assert [tuple(row) for row in stored] == [("a", "first", 4, 3), ("b", "new", 1, 0)]


async def test_connections_the_server_closed_are_replaced_without_failing_a_read(postgres):
    url, admin = postgres
    database = Database(url)
    others = sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
    try:
        for _ in range(2):  # the second run compiles the statement for the driver
            assert (await database.fetch_one(TWO)).two == 2
        async with database.reader.connect() as conn:  # the read pool's one connection, idle after this
            driver = (await conn.get_raw_connection()).driver_connection
            assert not driver.is_closed()
        async with admin.session() as session:
            await session.execute(sa.text(f"SELECT pg_terminate_backend(pid) FROM ({others.text}) AS o"))

        async def noticed() -> bool:
            return driver.is_closed()

        await eventually(noticed)  # the driver read the end of the stream; the pool still holds the connection
        for _ in range(3):
            async with database.session() as session:
                assert await session.scalar(sa.text("SELECT 2")) == 2
            assert (await database.fetch_one(TWO)).two == 2
    finally:
        await database.dispose()


async def test_both_pools_run_postgresql_without_jit_compilation(postgres):
    _, database = postgres  # the server's own default is on
    async with database.session() as session:
        assert await session.scalar(sa.text("SHOW jit")) == "off"
    async with database.transaction() as session:
        assert await session.scalar(sa.text("SHOW jit")) == "off"


async def test_reads_beyond_the_read_pool_wait_for_a_connection_instead_of_opening_more(postgres):
    url, admin = postgres
    database = Database(url, read_pool_size=2)
    backends = sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
    try:
        async with database.reader.connect() as first, database.reader.connect() as second:
            for conn in (first, second):
                assert await conn.scalar(sa.text("SELECT 1")) == 1
            third = asyncio.create_task(database.fetch_one(sa.text("SELECT 3")))
            await asyncio.sleep(0.2)  # long enough to open a connection, had the pool allowed one
            assert not third.done()
            async with admin.session() as session:
                assert await session.scalar(backends) == 2  # the admin's own backend is not counted
        assert (await third)[0] == 3  # it took a connection the two gave back
        async with admin.session() as session:
            assert await session.scalar(backends) == 2
    finally:
        await database.dispose()


async def test_hot_reads_beyond_the_read_pool_take_its_connections_in_turn(postgres):
    url, _ = postgres
    database = Database(url, read_pool_size=1)
    done: list[tuple[int, int]] = []

    async def request(n: int) -> None:
        for read in range(3):
            assert (await database.fetch_one(TWO)).two == 2
            done.append((n, read))

    try:
        for _ in range(2):  # the connection opened and the statement compiled for the driver before the requests
            await database.fetch_one(TWO)
        await asyncio.gather(*(request(n) for n in range(4)))
    finally:
        await database.dispose()
    # A request's next read waits behind the reads already waiting, not ahead of them with the connection it gave back.
    assert done == [(n, read) for read in range(3) for n in range(4)]


@pytest.fixture
async def typed(postgres):
    url, _admin = postgres
    database = Database(url)
    async with database.engine.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    nulls = dict.fromkeys(TYPED.c.keys())
    async with database.transaction() as session:
        await session.execute(
            TYPED.insert(),
            [{**nulls, **row} for row in [
                dict(
                    id=1, name="一号", colour=Colour.RED, hue=Colour.GREEN, shape={"type": "Point", "coordinates": [112.5, 35.1]},
                    tags=["a", "b"], ratio=0.25, amount=Decimal("12.50"), fen=2**40, done=True, day=date(2026, 1, 31),
                    at=datetime(2026, 11, 28, 8, 30, 1, 123456, tzinfo=UTC), stamp=datetime(2026, 2, 1, tzinfo=UTC),
                ),
                dict(id=2, name="二号", colour=Colour.GREEN),  # every other column NULL
                dict(id=3, name="三号", colour=Colour.RED, shape=[], tags={}, done=False, day=date(2025, 12, 1)),
            ]],
        )
    try:
        yield database
    finally:
        await database.dispose()


async def _by_sqlalchemy(database: Database, statement, params) -> list[sa.Row]:  # noqa: ANN001
    async with database.reader.connect() as conn:
        return (await conn.execute(statement, params)).all()


def _typed(rows) -> list[tuple]:  # noqa: ANN001 - rows of either path
    return [(row._fields, tuple(row), tuple(type(value) for value in row)) for row in rows]


@pytest.mark.parametrize(
    ("statement", "params"),
    [
        (TYPED_FROM, {"from_id": 1, "not_colour": Colour.GREEN}),
        (TYPED_FROM, {"from_id": 2, "not_colour": Colour.RED}),
        (TYPED_COUNT, {"before": date(2026, 6, 1)}),
        (TWO, None),
    ],
    ids=["every-type", "nulls", "count", "no-binds"],
)
async def test_hot_reads_on_the_driver_answer_row_for_row_as_sqlalchemy(typed: Database, statement, params):
    expected = _typed(await _by_sqlalchemy(typed, statement, params))
    assert expected and all(row[1] for row in expected)
    executed_by_sqlalchemy: list[str] = []
    sa.event.listen(typed.reader.sync_engine, "before_cursor_execute", lambda *args: executed_by_sqlalchemy.append(args[2]))
    for run in range(3):
        assert _typed(await typed.fetch_all(statement, params)) == expected, run
        assert _typed([await typed.fetch_one(statement, params)]) == expected[:1], run
    # SQLAlchemy ran the statement the first time only; the driver ran it from then on.
    assert len(executed_by_sqlalchemy) == 1


async def test_reads_the_driver_cannot_run_and_errors_take_sqlalchemys_path(typed: Database):
    for _ in range(3):
        assert [row.id for row in await typed.fetch_all(TYPED_IN, {"ids": [3, 1, 7]})] == [1, 3]
        assert await typed.fetch_one(TYPED_FROM, {"from_id": 9, "not_colour": Colour.RED}) is None
        assert (await typed.fetch_one(TYPED_AS_NUMBER, {"text": "41"}))[0] == 41
    with pytest.raises(DBAPIError, match="invalid input syntax"):  # the server's refusal, as SQLAlchemy raises it
        await typed.fetch_one(TYPED_AS_NUMBER, {"text": "forty-one"})


async def test_a_database_refusing_connections_fails_a_hot_read_as_sqlalchemy_does(postgres):
    url, _admin = postgres
    database = Database(url)
    name = database.reader.url.database
    maintenance = Database(database.reader.url.set(database="postgres").render_as_string(hide_password=False))
    try:
        for _ in range(2):  # the second run compiles the statement for the driver
            assert (await database.fetch_one(TWO)).two == 2
        async with maintenance.reader.connect() as conn:
            await conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            await conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name})
        await database.reader.dispose()  # the read pool holds no connection: the read must open one
        with pytest.raises(DBAPIError, match="not currently accepting connections"):
            await database.fetch_one(TWO)
    finally:
        async with maintenance.reader.connect() as conn:
            await conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        await maintenance.dispose()
        await database.dispose()
