"""grid-svc's data migrations: what an upgrade computes from the rows already stored, on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

from sqlalchemy import text

from grid_svc.db import MIGRATIONS
from harness import Databases
from shared.database import Database
from shared.migrations import upgrade_async

Upgrade = Callable[[], Coroutine[None, None, None]]


@asynccontextmanager
async def _stored_at(backend, tmp_path, revision: str, rows: dict[str, list[dict]]) -> AsyncIterator[tuple[Database, Upgrade]]:
    """A fresh grid-svc database at `revision` holding `rows` (per table, in order), and the upgrade to head."""
    databases = Databases(backend, tmp_path)
    url = await databases.fresh("grid-migration")
    db = Database(url)
    try:
        await upgrade_async(MIGRATIONS, url, revision)
        async with db.transaction() as session:
            for table, table_rows in rows.items():
                columns = ", ".join(table_rows[0])
                values = ", ".join(":" + column for column in table_rows[0])
                await session.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({values})"), table_rows)
        yield db, lambda: upgrade_async(MIGRATIONS, url, "head")
    finally:
        await db.dispose()
        await databases.drop_all()


async def test_the_tallies_migration_counts_each_micro_grids_households_not_dissolved(backend, tmp_path):
    now = datetime.now(UTC)
    town = "/C/T/"
    units = [
        dict(id=unit, code=unit, name=unit, level=level, path=path, full_code=path, created_at=now, updated_at=now)
        for unit, level, path in (("C", "county", "/C/"), ("T", "town", town), ("M1", "micro_grid", f"{town}M1/"), ("M2", "micro_grid", f"{town}M2/"))
    ]
    households = [
        dict(id=f"H{n}", code=f"H{n}", address="地址", size=1, unit_id=unit, unit_path=f"{town}{unit}/", town_unit_id="T",
             tags_text="", registered_on=date(2020, 1, 1), dissolved_on=dissolved, created_at=now, updated_at=now)
        for n, (unit, dissolved) in enumerate([("M1", None), ("M1", None), ("M1", date(2021, 1, 1)), ("M2", None)])
    ]
    async with _stored_at(backend, tmp_path, "0006", {"units": units, "households": households}) as (db, upgrade):
        await upgrade()
        async with db.session() as session:
            statement = text("SELECT unit_path, town_unit_id, households FROM household_tallies ORDER BY unit_path")
            tallies = (await session.execute(statement)).all()
    assert [tuple(row) for row in tallies] == [(f"{town}M1/", "T", 2), (f"{town}M2/", "T", 1)]


async def test_the_unit_tallies_migration_counts_each_units_active_units_per_level_below_it(backend, tmp_path):
    now = datetime.now(UTC)
    tree = [
        ("C", "county", "/C/", None),
        ("T", "town", "/C/T/", None),
        ("V", "village", "/C/T/V/", None),
        ("G1", "grid", "/C/T/V/G1/", None),
        ("G2", "grid", "/C/T/V/G2/", now),  # retired: counted nowhere
        ("M", "micro_grid", "/C/T/V/G1/S/M/", None),
        ("S", "small_grid", "/C/T/V/G1/S/", None),
    ]
    units = [
        dict(id=unit, code=unit, name=unit, level=level, path=path, full_code=path, created_at=now, updated_at=now,
             retired_at=retired)
        for unit, level, path, retired in tree
    ]
    async with _stored_at(backend, tmp_path, "0007", {"units": units}) as (db, upgrade):
        await upgrade()
        async with db.session() as session:
            tallies = (await session.execute(text("SELECT unit_id, level, units FROM unit_tallies"))).all()
    below_village = {"grid": 1, "small_grid": 1, "micro_grid": 1}
    expected = {
        "C": {"town": 1, "village": 1, **below_village},
        "T": {"village": 1, **below_village},
        "V": below_village,
        "G1": {"small_grid": 1, "micro_grid": 1},
        "S": {"micro_grid": 1},
    }
    assert sorted(tuple(row) for row in tallies) == sorted(
        (unit, level, units) for unit, counts in expected.items() for level, units in counts.items()
    )
