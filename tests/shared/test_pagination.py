"""Paged lists: one page and the total of all pages in one statement, on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from harness import database_with
from shared.database import Database
from shared.pagination import PagedQuery, PageParams, fetch_page

METADATA = sa.MetaData()
PLACES = sa.Table("places", METADATA, sa.Column("id", sa.Integer, primary_key=True), sa.Column("path", sa.String(50)))
TAGS = sa.Table("tags", METADATA, sa.Column("place_id", sa.Integer, primary_key=True), sa.Column("tag", sa.String(20)))


@pytest.fixture
async def database(backend, tmp_path):
    async with database_with(METADATA, backend, tmp_path, "pages") as db:
        async with db.engine.begin() as conn:
            await conn.execute(PLACES.insert(), [{"id": i, "path": "/a/" if i <= 7 else "/b/"} for i in range(1, 11)])
            await conn.execute(TAGS.insert(), [{"place_id": i, "tag": f"t{i}"} for i in range(1, 4)])
        yield db


def _ids(rows) -> list[int]:
    return [row.id for row in rows]


async def test_each_page_carries_the_total_and_a_page_past_the_end_still_counts(database: Database):
    # The left join adds a column to every row but must not change the count.
    query = PagedQuery.of(
        sa.select(PLACES, TAGS.c.tag).outerjoin(TAGS, TAGS.c.place_id == PLACES.c.id).where(PLACES.c.path == sa.bindparam("path")).order_by(PLACES.c.id)
    )
    first, total = await query.fetch(database, PageParams(page=1, per_page=3), {"path": "/a/"})
    assert _ids(first) == [1, 2, 3] and total == 7 and first[0].tag == "t1"
    last, total = await query.fetch(database, PageParams(page=3, per_page=3), {"path": "/a/"})
    assert _ids(last) == [7] and total == 7
    past, total = await query.fetch(database, PageParams(page=9, per_page=3), {"path": "/a/"})
    assert past == [] and total == 7
    none, total = await query.fetch(database, PageParams(page=1, per_page=3), {"path": "/c/"})
    assert none == [] and total == 0


async def test_a_statement_of_one_table_counts_its_own_rows_not_the_outer_one(database: Database):
    rows, total = await fetch_page(database, sa.select(PLACES).where(PLACES.c.id > 2).order_by(PLACES.c.id.desc()), PageParams(page=2, per_page=5))
    assert _ids(rows) == [5, 4, 3] and total == 8
    everything, total = await fetch_page(database, sa.select(PLACES).order_by(PLACES.c.id), PageParams(page=1, per_page=2))
    assert _ids(everything) == [1, 2] and total == 10


async def test_a_grouped_statement_counts_its_groups(database: Database):
    grouped = sa.select(PLACES.c.path, sa.func.count().label("places")).group_by(PLACES.c.path).order_by(PLACES.c.path)
    rows, total = await fetch_page(database, grouped, PageParams(page=1, per_page=1))
    assert [(row.path, row.places) for row in rows] == [("/a/", 7)] and total == 2
