"""Column types every service shares, on real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text

from harness import database_with
from shared.columns import UTCDateTime
from shared.database import Database

METADATA = MetaData()
MOMENTS = Table("moments", METADATA, Column("id", Integer, primary_key=True), Column("at", UTCDateTime(), nullable=True))
SHANGHAI = timezone(timedelta(hours=8))


@pytest.fixture(scope="module")
async def database(backend, tmp_path_factory):
    async with database_with(METADATA, backend, tmp_path_factory.mktemp("columns"), "columns") as db:
        yield db


async def test_an_instant_comes_back_as_the_same_instant_in_utc(database: Database):
    """Written with a +08:00 offset, read back aware and in UTC: on PostgreSQL even when the session's time zone
    is Asia/Shanghai (the driver's own UTC values are passed through), on SQLite from its naive UTC text."""
    written = datetime(2026, 11, 27, 9, 30, 15, 123456, tzinfo=SHANGHAI)
    async with database.transaction() as session:
        await session.execute(insert(MOMENTS).values(id=1, at=written))
        await session.execute(insert(MOMENTS).values(id=2, at=None))
    async with database.reader.connect() as conn:
        if not database.is_sqlite:
            await conn.execute(text("SET TIME ZONE 'Asia/Shanghai'"))
        read = dict((await conn.execute(select(MOMENTS.c.id, MOMENTS.c.at))).all())
        if not database.is_sqlite:
            await conn.execute(text("RESET TIME ZONE"))
    assert read[1] == written
    assert read[1].utcoffset() == timedelta(0) and read[1].hour == 1
    assert read[2] is None


async def test_a_naive_datetime_is_refused(database: Database):
    """A datetime without an offset is ambiguous: it is not written."""
    with pytest.raises(Exception, match="timezone"):
        async with database.transaction() as session:
            await session.execute(insert(MOMENTS).values(id=3, at=datetime(2026, 11, 27, 9, 30)))
    async with database.session() as session:
        assert (await session.execute(select(MOMENTS.c.id).where(MOMENTS.c.id == 3))).first() is None
