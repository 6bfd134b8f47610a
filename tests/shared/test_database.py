"""Database sessions: reads in autocommit that cannot write, the read pool's bound, and connections the server closed."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from harness import Databases, database_with, eventually
from shared.database import Database

METADATA = sa.MetaData()
NOTES = sa.Table("notes", METADATA, sa.Column("id", sa.Integer, primary_key=True), sa.Column("text", sa.String(50)))


class Note:
    pass


sa.orm.registry().map_imperatively(Note, NOTES)


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


async def test_connections_the_server_closed_are_replaced_without_failing_a_read(postgres):
    url, admin = postgres
    database = Database(url)
    others = sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
    try:
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
    finally:
        await database.dispose()


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
