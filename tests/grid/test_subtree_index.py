"""Subtree questions on 100,000 units are answered from the path index: the query plan shows it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from grid.registry_builders import ADMIN
from sqlalchemy import text

from grid_svc.units.models import Level, Unit
from grid_svc.units.service import LEVEL_COUNTS
from harness import plan_of
from shared.ids import new_id

# 1 county, 5 towns, 50 villages, 500 grids, 5,000 small grids, 95,000 micro grids = 100,556 units.
FAN_OUT = [("town", 5), ("village", 10), ("grid", 10), ("small_grid", 10), ("micro_grid", 19)]
PATH_INDEXES = ("ix_units_path", "ix_units_level_path")


def _tree() -> list[dict]:
    now = datetime.now(UTC)
    county_id = new_id()
    rows = [dict(id=county_id, code="XX", name="县", level="county", parent_id=None, path=f"/{county_id}/", full_code="XX", created_at=now, updated_at=now)]
    layer = [rows[0]]
    for level, fan_out in FAN_OUT:
        next_layer = []
        for parent in layer:
            for i in range(fan_out):
                unit_id = new_id()
                code = f"{level[0].upper()}{i:02d}"
                next_layer.append(
                    dict(id=unit_id, code=code, name=f"{level}{i}", level=level, parent_id=parent["id"], path=f"{parent['path']}{unit_id}/",
                         full_code=f"{parent['full_code']}.{code}", created_at=now, updated_at=now)
                )
        rows.extend(next_layer)
        layer = next_layer
    return rows


@pytest.fixture(scope="module")
async def big_tree(grid):
    rows = _tree()
    database = grid.runtime.database
    async with database.transaction() as session:
        for start in range(0, len(rows), 5000):
            await session.execute(Unit.__table__.insert(), rows[start : start + 5000])
    async with database.engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
        await connection.commit()
    return rows


async def test_the_tree_has_at_least_100000_units(grid, big_tree):
    county = big_tree[0]
    counts = (await grid.client.get(f"/api/v1/grid/units/{county['id']}/counts", headers=ADMIN)).json()
    assert sum(v for k, v in counts.items() if k != "unit_id") + 1 >= 100_000
    assert (counts["town"], counts["village"], counts["grid"], counts["small_grid"], counts["micro_grid"]) == (5, 50, 500, 5000, 95000)


async def test_subtree_count_uses_the_path_index(grid, big_tree):
    village = next(row for row in big_tree if row["level"] == "village")
    database = grid.runtime.database
    statement = LEVEL_COUNTS[Level.VILLAGE].params(subtree=village["path"])
    plan = "\n".join(await plan_of(database, statement))
    assert any(index in plan for index in PATH_INDEXES), plan
    if database.is_sqlite:
        assert "SCAN units" not in plan and "path>" in plan, plan  # ranges on the path, never a full scan
    else:
        assert "Seq Scan" not in plan, plan
    counts = (await grid.client.get(f"/api/v1/grid/units/{village['id']}/counts", headers=ADMIN)).json()
    assert (counts["grid"], counts["small_grid"], counts["micro_grid"]) == (10, 100, 1900)


async def test_subtree_count_keeps_its_path_range_in_a_plan_made_without_the_path(grid, big_tree):
    """A statement run often on one connection is planned without its parameters' values (PostgreSQL's
    generic plan after five runs; SQLite plans so whenever it prepares): the root's path must still bound
    the index range, not be a filter over every unit of a level."""
    village = next(row for row in big_tree if row["level"] == "village")
    database = grid.runtime.database
    compiled = LEVEL_COUNTS[Level.VILLAGE].compile(database.engine.sync_engine)
    values = [village["path"] if name == "subtree" else compiled.params[name] for name in compiled.positiontup]
    async with database.engine.connect() as connection:
        if database.is_sqlite:
            explained = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), tuple(values))
        else:
            await connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            await connection.exec_driver_sql(f"PREPARE level_counts AS {compiled}")
            assert all(set(value) <= set("/_0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghijklmnopqrstuvwxyz") for value in values)
            arguments = ", ".join(f"'{value}'" for value in values)  # ids and level names: safe to quote as literals
            explained = await connection.exec_driver_sql(f"EXPLAIN EXECUTE level_counts({arguments})")
        plan = [str(row[-1]) for row in explained.all()]
        await connection.rollback()
    if database.is_sqlite:
        ranges = [line for line in plan if "ix_units_level_path" in line and "path>? AND path<?" in line]
    else:
        ranges = [line for line in plan if "Index Cond" in line and re.search(r"\(path\)::text ~>=~ \(\$\d+\)", line) and "~<~" in line]
        assert not any("Seq Scan" in line for line in plan), plan
    assert len(ranges) == 3, "\n".join(plan)  # one range per level below a village: grid, small grid, micro grid
