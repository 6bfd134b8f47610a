"""The people list under a town: the town's people in name order, following every move of a person, of a
household or of a unit between towns, read from the town's own index."""

from __future__ import annotations

from datetime import UTC, datetime

from grid.registry_builders import ADMIN, create_chain, create_unit, id_number, listed_under, register_household, register_person
from sqlalchemy import text

from grid_svc.db import MIGRATIONS
from grid_svc.people.models import Person
from grid_svc.people.service import list_people_query
from grid_svc.units.models import Unit
from harness import PLATFORM_ADMIN, Databases, analyze, plan_of
from shared.database import Database
from shared.migrations import upgrade_async
from shared.scope import town_of


async def _listed(client, unit_id: str) -> list[str]:
    return await listed_under(client, "/api/v1/grid/people", unit_id, "name")


async def _towns_agree(database: Database) -> None:
    """Every person's town is the town of the unit they are registered on."""
    async with database.session() as session:
        rows = (await session.execute(text("SELECT people.town_unit_id, units.path FROM people JOIN units ON units.id = people.unit_id"))).all()
    assert rows and all(town == town_of(path) for town, path in rows), rows


async def test_a_towns_people_follow_moves_of_people_households_and_units(grid):
    client = grid.client
    first = await create_chain(client, established_on="2019-01-01")
    second_town = await create_unit(client, "town", first["county"]["id"], "南大里乡", established_on="2019-01-01")
    micro = second_town
    for level in ("village", "grid", "small_grid", "micro_grid"):
        micro = await create_unit(client, level, micro["id"], level, established_on="2019-01-01")
    home = await register_household(client, first["micro_grid"]["id"], registered_on="2020-01-01")
    away = await register_household(client, micro["id"], registered_on="2020-01-01")
    for n, name in enumerate(("丁一", "丙二")):
        await register_person(client, name=name, household_id=home["id"], relation="other", id_number=id_number(400 + n))
    loner = await register_person(client, name="甲三", unit_id=first["village"]["id"], id_number=id_number(402))
    await register_person(client, name="乙四", household_id=away["id"], relation="head", id_number=id_number(403))
    await register_person(client, name="县五", unit_id=first["county"]["id"], id_number=id_number(404))
    assert await _listed(client, first["town"]["id"]) == sorted(["丁一", "丙二", "甲三"])
    assert await _listed(client, second_town["id"]) == ["乙四"]

    # A person without a household joins one in the other town; a household moves to the other town.
    joined = await client.post(f"/api/v1/grid/households/{away['id']}/members", json={"person_id": loner["id"], "relation": "other"}, headers=ADMIN)
    assert joined.status_code == 201, joined.text
    assert await _listed(client, first["town"]["id"]) == sorted(["丁一", "丙二"])
    moved = await client.post(f"/api/v1/grid/households/{home['id']}/move", json={"unit_id": micro["id"]}, headers=ADMIN)
    assert moved.status_code == 200, moved.text
    assert await _listed(client, first["town"]["id"]) == []
    assert await _listed(client, second_town["id"]) == sorted(["丁一", "丙二", "甲三", "乙四"])

    # A village moves between towns with the people registered on it and below it.
    stayer = await register_person(client, name="戊六", unit_id=first["grid"]["id"], id_number=id_number(405))
    regridded = await client.post(f"/api/v1/grid/units/{first['village']['id']}/move", json={"parent_id": second_town["id"]}, headers=ADMIN)
    assert regridded.status_code == 200, regridded.text
    assert await _listed(client, first["town"]["id"]) == []
    assert stayer["name"] in await _listed(client, second_town["id"])
    assert await _listed(client, first["village"]["id"]) == [stayer["name"]]
    await _towns_agree(grid.runtime.database)


async def test_a_towns_page_is_read_in_name_order_from_the_towns_index(grid):
    """Under the town's path range the planner joins the county's people to the town's units and sorts the
    town's; the town's (town_unit_id, name, id) index holds just the town's, in order."""
    database = grid.runtime.database
    chain = await create_chain(grid.client)
    now = datetime.now(UTC)
    rows = [
        dict(id=f"{town[-1]}{n:025d}", name=f"{prefix}{n:05d}", unit_id=chain["micro_grid"]["id"], town_unit_id=town,
             created_at=now, updated_at=now)
        for prefix, town in (("甲", "PLAN_EARLY"), ("乙", "PLAN_LATE"))
        for n in range(4_000)
    ]  # fmt: skip
    async with database.transaction() as session:
        await session.execute(text(f"INSERT INTO people ({', '.join(rows[0])}) VALUES ({', '.join(':' + c for c in rows[0])})"), rows)
    await analyze(database, "people")
    town = Unit(id="PLAN_LATE", path=f"/{chain['county']['id']}/PLAN_LATE/")
    query = list_people_query(identity=PLATFORM_ADMIN, scope_path=None, under=town, household_id=None, q=None, gender=None)
    plan = "\n".join(await plan_of(database, query.limit(50)))
    assert "ix_people_town_name" in plan, plan
    if database.is_sqlite:
        assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan
    else:
        assert "Sort" not in plan, plan
    async with database.session() as session:
        page = (await session.execute(query.limit(50))).scalars().all()
    assert [person.name for person in page] == [f"乙{n:05d}" for n in range(50)]


async def test_the_migration_gives_existing_people_their_units_town(backend, tmp_path):
    databases = Databases(backend, tmp_path)
    url = await databases.fresh("people_town")
    try:
        await upgrade_async(MIGRATIONS, url, "0005")
        database = Database(url)
        now = datetime.now(UTC)
        units = [("C", None, "/C/", "county"), ("T", "C", "/C/T/", "town"), ("V", "T", "/C/T/V/", "village")]
        async with database.transaction() as session:
            await session.execute(
                Unit.__table__.insert(),
                [dict(id=i, code=i, full_code=path, name=i, level=level, parent_id=parent, path=path, created_at=now, updated_at=now)
                 for i, parent, path, level in units],
            )  # fmt: skip
            # Only the columns the table has before the migration.
            await session.execute(
                Person.__table__.insert(),
                [dict(id=i, name=i, unit_id=unit, created_at=now, updated_at=now) for i, unit in (("P1", "V"), ("P2", "T"), ("P3", "C"))],
            )
        await database.dispose()
        await upgrade_async(MIGRATIONS, url)
        database = Database(url)
        async with database.session() as session:
            towns = dict((await session.execute(text("SELECT id, town_unit_id FROM people"))).all())
        await database.dispose()
        assert towns == {"P1": "T", "P2": "T", "P3": None}
    finally:
        await databases.drop_all()

