"""The household list under a town: the town's households in code order, following every move of a household
or of a unit between towns, read from the town's own index."""

from __future__ import annotations

from datetime import UTC, date, datetime

from grid.registry_builders import ADMIN, create_chain, create_unit, listed_under, register_household
from sqlalchemy import text

from grid_svc.households.service import households_page
from harness import analyze, plan_of
from shared.scope import path_ids


async def _listed(client, unit_id: str) -> list[str]:
    return await listed_under(client, "/api/v1/grid/households", unit_id, "code")


async def test_a_towns_households_follow_moves_of_households_and_of_units(grid):
    client = grid.client
    first = await create_chain(client, established_on="2019-01-01")
    second_town = await create_unit(client, "town", first["county"]["id"], "南大里乡", established_on="2019-01-01")
    parent, second = second_town, {"town": second_town}
    for level in ("village", "grid", "small_grid", "micro_grid"):
        second[level] = parent = await create_unit(client, level, parent["id"], level, established_on="2019-01-01")
    here = [await register_household(client, first["micro_grid"]["id"], registered_on="2020-01-01") for _ in range(3)]
    there = await register_household(client, second["micro_grid"]["id"], registered_on="2020-01-01")
    assert await _listed(client, first["town"]["id"]) == sorted(h["code"] for h in here)
    assert await _listed(client, second_town["id"]) == [there["code"]]

    moved = await client.post(f"/api/v1/grid/households/{here[0]['id']}/move", json={"unit_id": second["micro_grid"]["id"]}, headers=ADMIN)
    assert moved.status_code == 200, moved.text
    assert await _listed(client, first["town"]["id"]) == sorted(h["code"] for h in here[1:])
    assert await _listed(client, second_town["id"]) == sorted([there["code"], here[0]["code"]])

    # The first town's village, with the two households left on its micro grid, moves to the second town.
    regridded = await client.post(f"/api/v1/grid/units/{first['village']['id']}/move", json={"parent_id": second_town["id"]}, headers=ADMIN)
    assert regridded.status_code == 200, regridded.text
    assert await _listed(client, first["town"]["id"]) == []
    assert await _listed(client, second_town["id"]) == sorted([there["code"], *(h["code"] for h in here)])
    assert await _listed(client, first["village"]["id"]) == sorted(h["code"] for h in here[1:])
    async with grid.runtime.database.session() as session:
        rows = (await session.execute(text("SELECT unit_path, town_unit_id FROM households"))).all()
    assert rows and all(town == path_ids(path)[1] for path, town in rows)


async def test_a_towns_page_is_read_in_code_order_from_the_towns_index(grid):
    """A town whose codes sort after every other town's: in code order under the town's path range, the
    planner walks the county's households by code and filters; the town's (town_unit_id, code, id) index
    holds just the town's, in order."""
    database = grid.runtime.database
    chain = await create_chain(grid.client)
    now = datetime.now(UTC)
    rows = [
        dict(code=f"{prefix}{n:05d}", address="地址", size=1, id=f"{prefix}{n:025d}", unit_id=chain["micro_grid"]["id"],
             unit_path=f"/PLANC/{town}/V/G/S/M/", town_unit_id=town, head_person_id=None, tags_text="",
             registered_on=date(2020, 1, 1), dissolved_on=None, created_at=now, updated_at=now)
        for prefix, town in (("A", "PLAN_EARLY"), ("Z", "PLAN_LATE"))
        for n in range(4_000)
    ]
    tallies = [{"unit_path": f"/PLANC/{town}/V/G/S/M/", "town_unit_id": town, "households": 4_000} for town in ("PLAN_EARLY", "PLAN_LATE")]
    async with database.transaction() as session:
        await session.execute(text(f"INSERT INTO households ({', '.join(rows[0])}) VALUES ({', '.join(':' + c for c in rows[0])})"), rows)
        await session.execute(text("INSERT INTO household_tallies VALUES (:unit_path, :town_unit_id, :households)"), tallies)
    await analyze(database, "households")
    query = households_page(within="town", tag=False, q=False, include_dissolved=False)
    values = {"town_unit_id": "PLAN_LATE", "limit": 50, "offset": 0}
    plan = await plan_of(database, query.rows.params(values))
    async with database.session() as session:
        page = (await session.execute(query.rows, values)).all()
    shown = "\n".join(plan)
    assert any("ix_households_town_code" in line for line in plan), shown
    assert not any("uq_households_code" in line for line in plan), shown
    if database.is_sqlite:
        assert "USE TEMP B-TREE FOR ORDER BY" not in shown, shown
    else:
        assert not any("Sort" in line for line in plan), shown
    assert [row.code for row in page] == [f"Z{n:05d}" for n in range(50)] and page[0].total == 4_000


async def test_a_lists_total_follows_registrations_moves_and_dissolutions(grid):
    """Filtered by place only, the total is the micro grids' tallies; with a filter, the households counted.
    Both agree with the rows listed after every change (`listed_under` checks each page's total)."""
    client = grid.client

    async def everywhere() -> int:  # the module's other tests' households too
        return (await client.get("/api/v1/grid/households", params={"per_page": 1}, headers=ADMIN)).json()["total"]

    before = await everywhere()
    chain = await create_chain(client, established_on="2019-01-01")
    other = await create_unit(client, "micro_grid", chain["small_grid"]["id"], "另一网格", established_on="2019-01-01")
    first = [await register_household(client, chain["micro_grid"]["id"], registered_on="2020-01-01") for _ in range(3)]
    second = await register_household(client, other["id"], registered_on="2020-01-01")

    async def totals() -> dict[str, int]:
        lists = {
            "town": {"under": chain["town"]["id"]},
            "first grid": {"under": chain["micro_grid"]["id"]},
            "other grid": {"under": other["id"]},
            "with dissolved": {"under": chain["town"]["id"], "include_dissolved": "true"},
        }
        found = {}
        for name, params in lists.items():
            body = (await client.get("/api/v1/grid/households", params={**params, "per_page": 1}, headers=ADMIN)).json()
            found[name] = body["total"]
        return {**found, "everywhere": await everywhere() - before}

    assert await totals() == {"town": 4, "first grid": 3, "other grid": 1, "everywhere": 4, "with dissolved": 4}
    moved = await client.post(f"/api/v1/grid/households/{first[0]['id']}/move", json={"unit_id": other["id"]}, headers=ADMIN)
    assert moved.status_code == 200, moved.text
    assert await totals() == {"town": 4, "first grid": 2, "other grid": 2, "everywhere": 4, "with dissolved": 4}
    dissolved = await client.post(f"/api/v1/grid/households/{second['id']}/dissolve", json={}, headers=ADMIN)
    assert dissolved.status_code == 200, dissolved.text
    again = await client.post(f"/api/v1/grid/households/{second['id']}/dissolve", json={}, headers=ADMIN)
    assert again.status_code == 200, again.text  # dissolving twice changes nothing, the tally included
    assert await totals() == {"town": 3, "first grid": 2, "other grid": 1, "everywhere": 3, "with dissolved": 4}
    assert await _listed(client, chain["town"]["id"]) == sorted(h["code"] for h in first)
