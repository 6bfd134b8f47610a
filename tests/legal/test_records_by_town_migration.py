"""Migrating a legal-svc database that holds records gives each the town its unit lies in."""

from __future__ import annotations

from sqlalchemy import text

from harness import Databases
from legal_svc.db import MIGRATIONS
from shared.database import Database
from shared.migrations import upgrade_async

UNITS = [("C", "county", "/C/"), ("T", "town", "/C/T/"), ("V", "village", "/C/T/V/"), ("M", "micro_grid", "/C/T/V/G/M/")]


async def test_records_written_before_the_migration_get_their_units_town(backend, tmp_path):
    databases = Databases(backend, tmp_path)
    url = await databases.fresh("legal_towns")
    await upgrade_async(MIGRATIONS, url, "0003")
    db = Database(url)
    try:
        async with db.transaction() as session:
            for unit_id, level, path in UNITS:
                await session.execute(
                    text("INSERT INTO grid_units (id, code, full_code, name, level, parent_id, path, updated_at) "
                         "VALUES (:id, :id, :id, :id, :level, NULL, :path, CURRENT_TIMESTAMP)"),
                    {"id": unit_id, "level": level, "path": path},
                )
            for unit_id, _, _ in UNITS:
                await session.execute(
                    text("INSERT INTO publicity_teams (id, name, kind, unit_id, formed_on, created_at) "
                         "VALUES (:id, 'team', 'volunteer_team', :unit, '2026-01-01', CURRENT_TIMESTAMP)"),
                    {"id": f"team-{unit_id}", "unit": unit_id},
                )
        await db.dispose()
        await upgrade_async(MIGRATIONS, url)
        db = Database(url)
        async with db.session() as session:
            towns = dict((await session.execute(text("SELECT unit_id, town_unit_id FROM publicity_teams"))).all())
        assert towns == {"C": None, "T": "T", "V": "T", "M": "T"}
    finally:
        await db.dispose()
        await databases.drop_all()
