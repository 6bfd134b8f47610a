"""The bench's stand-in for autovacuum vacuums and analyzes the tables autovacuum would, and leaves the others."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from bench.autovacuum import DUE, Autovacuum, upkeep
from harness import eventually
from shared.database import Database
from shared.testing import create_postgres_database, drop_postgres_database

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # autovacuum is PostgreSQL's


async def _run(url: str, *statements: str) -> None:
    database = Database(url)
    try:
        async with database.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                await conn.execute(text(statement))
            # Hand this backend's table counters to the shared statistics now, not when it next idles long enough.
            await conn.execute(text("SELECT pg_stat_force_next_flush()"))
            await conn.execute(text("SELECT 1"))
    finally:
        await database.dispose()


async def _due(url: str) -> dict[str, tuple[bool, bool]]:
    database = Database(url)
    try:
        async with database.engine.connect() as conn:
            return {name: (vacuum, analyze) for name, vacuum, analyze in (await conn.execute(DUE)).all()}
    finally:
        await database.dispose()


async def test_the_tables_past_autovacuums_thresholds_are_vacuumed_or_analyzed_and_no_other(backend: str) -> None:
    url = await create_postgres_database(prefix="autovacuum")
    try:
        await _run(
            url,
            "CREATE TABLE churned (id integer PRIMARY KEY, v integer NOT NULL)",
            "CREATE TABLE quiet (id integer PRIMARY KEY)",
            "INSERT INTO churned SELECT g, 0 FROM generate_series(1, 2000) AS g",
            "INSERT INTO quiet VALUES (1)",
        )
        await _run(
            url,
            "VACUUM ANALYZE churned",
            # 2,000 rows dead, past 50 + 20 % of 2,000; and changed, past 50 + 10 %.
            "UPDATE churned SET v = 1",
        )
        assert await _due(url) == {"public.churned": (True, True), "public.quiet": (False, False)}

        assert await upkeep(url) == ["VACUUM (ANALYZE) public.churned"]
        assert await upkeep(url) == []  # the vacuum reset what made it due

        # 300 rows added: past analyze's 50 + 10 % of 2,000, short of vacuum's 1,000 + 20 % inserted.
        await _run(url, "INSERT INTO churned SELECT g, 0 FROM generate_series(2001, 2300) AS g")
        assert await upkeep(url) == ["ANALYZE public.churned"]
        assert await _due(url) == {"public.churned": (False, False), "public.quiet": (False, False)}
    finally:
        await drop_postgres_database(url)


async def test_the_stand_in_runs_the_upkeep_until_stopped(backend: str) -> None:
    url = await create_postgres_database(prefix="autovacuum")
    try:
        await _run(url, "CREATE TABLE churned (id integer PRIMARY KEY)", "INSERT INTO churned SELECT generate_series(1, 2000)")
        stand_in = Autovacuum([url], every=0.05)
        stand_in.start()
        try:
            await eventually(lambda: asyncio.sleep(0, stand_in.done["VACUUM"] == 1))
        finally:
            await asyncio.to_thread(stand_in.stop)
        assert not stand_in.is_alive()
        assert await _due(url) == {"public.churned": (False, False)}
    finally:
        await drop_postgres_database(url)
