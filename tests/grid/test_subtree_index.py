"""Subtree counts on 100,000 units, and a unit list's total, are read from the unit tallies by key, whatever the
subtree's size: the query plan shows it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from grid.registry_builders import ADMIN
from sqlalchemy import text

from grid_svc.units import service
from grid_svc.units.models import Level, Unit
from grid_svc.units.tallies import TALLIES_OF, TallyChanges, tally_units, under_ancestors
from harness import plan_of
from shared.ids import new_id

# 1 county, 5 towns, 50 villages, 500 grids, 5,000 small grids, 95,000 micro grids = 100,556 units.
FAN_OUT = [("town", 5), ("village", 10), ("grid", 10), ("small_grid", 10), ("micro_grid", 19)]


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
        # Written as the service writes them with each unit it creates.
        changes = TallyChanges()
        for row in rows:
            changes.update(under_ancestors(row["path"], {row["level"]: 1}))
        await tally_units(session, changes)
    async with database.engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
        await connection.commit()
    return rows


async def test_the_tree_has_at_least_100000_units(grid, big_tree):
    county = big_tree[0]
    counts = (await grid.client.get(f"/api/v1/grid/units/{county['id']}/counts", headers=ADMIN)).json()
    assert sum(v for k, v in counts.items() if k != "unit_id") + 1 >= 100_000
    assert (counts["town"], counts["village"], counts["grid"], counts["small_grid"], counts["micro_grid"]) == (5, 50, 500, 5000, 95000)


async def test_a_subtree_count_reads_the_units_tallies_by_key_and_no_unit(grid, big_tree):
    county = big_tree[0]
    plan = "\n".join(await plan_of(grid.runtime.database, TALLIES_OF.params(unit_id=county["id"])))
    if grid.runtime.database.is_sqlite:
        assert "SEARCH unit_tallies USING" in plan and "(unit_id=?)" in plan, plan
    else:
        assert "unit_tallies_pkey" in plan and "Index Cond: ((unit_id)::text =" in plan and "Seq Scan" not in plan, plan
    assert "units " not in plan.replace("unit_tallies", ""), plan
    village = next(row for row in big_tree if row["level"] == "village")
    counts = (await grid.client.get(f"/api/v1/grid/units/{village['id']}/counts", headers=ADMIN)).json()
    assert (counts["village"], counts["grid"], counts["small_grid"], counts["micro_grid"]) == (0, 10, 100, 1900)


async def test_a_unit_list_under_the_county_totals_its_units_from_the_tallies(grid, big_tree):
    county = big_tree[0]
    for level, expected in ((None, len(big_tree) - 1), ("micro_grid", 95_000), ("town", 5)):
        params = {"under": county["id"], "per_page": 1} | ({"level": level} if level else {})
        page = (await grid.client.get("/api/v1/grid/units", params=params, headers=ADMIN)).json()
        assert (page["total"], len(page["items"])) == (expected, 1), level
    total = service.list_units_total(under=Unit(**county), level=Level.MICRO_GRID, name_contains=None, include_retired=False)
    plan = "\n".join(await plan_of(grid.runtime.database, total))
    assert "unit_tallies" in plan and "units " not in plan.replace("unit_tallies", ""), plan
    # A name filter is answered by counting the units it matches.
    named = await grid.client.get("/api/v1/grid/units", params={"under": county["id"], "q": "town", "per_page": 1}, headers=ADMIN)
    assert named.json()["total"] == 5
