"""Creating units, one by one and in batches: the rows and the event a create writes, and the order of its checks."""

from __future__ import annotations

import pytest
from grid.registry_builders import ADMIN, code, create_unit, headers_for
from sqlalchemy import func, select

from grid_svc.party.models import PartyOrg
from grid_svc.units import service
from grid_svc.units.models import Unit, UnitCreate, UnitPlacement
from shared.events import grid as ev
from shared.identity import Identity, Role
from shared.problems import Problem

UNITS = "/api/v1/grid/units"
PLATFORM_ADMIN = Identity(subject="test-admin", name="测试", role=Role.PLATFORM_ADMIN)


async def _orgs_under(grid, unit_id: str) -> list[dict]:
    response = await grid.client.get("/api/v1/grid/party/orgs", params={"under": unit_id, "per_page": 100}, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def _rows_under(grid, unit: dict) -> tuple[int, int, int]:
    """Units, placements and party organisations stored in `unit`'s subtree (itself included)."""
    in_subtree = Unit.path.startswith(unit["path"])
    async with grid.runtime.database.session() as session:
        units = await session.scalar(select(func.count()).select_from(Unit).where(in_subtree))
        placed = UnitPlacement.path.startswith(unit["path"])
        placements = await session.scalar(select(func.count()).select_from(UnitPlacement).where(placed))
        orgs = await session.scalar(
            select(func.count()).select_from(PartyOrg).join(Unit, Unit.id == PartyOrg.unit_id).where(in_subtree)
        )
    return units, placements, orgs


async def _grids_under(grid, chain) -> list[int]:
    ancestors = [chain[level]["id"] for level in ("county", "town", "village")]
    return [(await grid.client.get(f"{UNITS}/{unit_id}/counts", headers=ADMIN)).json()["grid"] for unit_id in ancestors]


async def test_a_created_grid_has_its_placement_party_org_event_and_counts_under_each_ancestor(grid, chain, events):
    village = chain["village"]
    grid_code = code()
    before = await _grids_under(grid, chain)
    body = {"code": grid_code, "name": " 三网格 ", "level": "grid", "parent_id": village["id"], "established_on": "2024-03-01"}
    response = await grid.client.post(UNITS, json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    unit = response.json()
    assert await _grids_under(grid, chain) == [count + 1 for count in before]
    assert unit["path"] == f"{village['path']}{unit['id']}/"
    assert unit["full_code"] == f"{village['full_code']}.{grid_code}"
    assert (unit["name"], unit["level"], unit["parent_id"]) == ("三网格", "grid", village["id"])
    assert (unit["boundary"], unit["centroid_lng"], unit["retired_at"]) == (None, None, None)
    assert unit["created_at"] == unit["updated_at"]
    assert (await grid.client.get(f"{UNITS}/{unit['id']}", headers=ADMIN)).json() == unit

    placements = (await grid.client.get(f"{UNITS}/{unit['id']}/placements", headers=ADMIN)).json()
    placed = {"unit_id": unit["id"], "parent_id": village["id"], "path": unit["path"], "full_code": unit["full_code"]}
    assert placements == [{**placed, "starts_on": "2024-03-01", "ends_on": None}]
    orgs = await _orgs_under(grid, unit["id"])
    assert [(o["unit_id"], o["kind"], o["name"]) for o in orgs] == [(unit["id"], "group", "三网格党小组")]

    event = await events.wait_for(ev.UnitCreated.event_type, unit["id"])
    assert event == {
        "unit_id": unit["id"],
        "code": grid_code,
        "full_code": unit["full_code"],
        "name": "三网格",
        "level": "grid",
        "parent_id": village["id"],
        "path": unit["path"],
    }


async def test_levels_without_a_party_org_get_none_and_a_boundary_gives_a_centroid(grid, chain):
    square = {"type": "Polygon", "coordinates": [[[111.0, 35.0], [111.2, 35.0], [111.2, 35.2], [111.0, 35.2], [111.0, 35.0]]]}
    small = await create_unit(grid.client, "small_grid", chain["grid"]["id"], "二小网格", boundary=square)
    assert (round(small["centroid_lng"], 6), round(small["centroid_lat"], 6)) == (111.1, 35.1)
    assert small["boundary"] == square
    assert await _rows_under(grid, small) == (1, 1, 0)
    county = await create_unit(grid.client, "county", None, "闻喜县")
    assert (county["path"], county["full_code"], county["parent_id"]) == (f"/{county['id']}/", county["full_code"], None)
    assert await _rows_under(grid, county) == (1, 1, 0)


async def test_checks_answer_in_order_role_scope_parent_level_code(grid, chain):
    county, town, village = chain["county"], chain["town"], chain["village"]
    taken = await create_unit(grid.client, "grid", village["id"], "已有网格")
    other_town = await create_unit(grid.client, "town", county["id"], "另一镇")
    other_village = await create_unit(grid.client, "village", other_town["id"], "另一村")
    before = await _rows_under(grid, county)

    async def post(headers: dict[str, str], **fields) -> tuple[int, str, str]:
        response = await grid.client.post(UNITS, json={"name": "新单元", **fields}, headers=headers)
        problem = response.json()
        return response.status_code, problem.get("code"), problem.get("detail")

    # A caller who may not change the tree is refused before the parent is looked up.
    worker = headers_for(Role.GRID_WORKER, town["id"])
    assert (await post(worker, code=code(), level="grid", parent_id="no-such-unit"))[:2] == (403, "forbidden")
    # A parent outside the caller's scope is as unknown as a missing one, whatever else is wrong.
    town_admin = headers_for(Role.TOWN_ADMIN, other_town["id"])
    assert (await post(town_admin, code=taken["code"], level="micro_grid", parent_id=village["id"]))[:2] == (404, "not_found")
    assert (await post(ADMIN, code=taken["code"], level="micro_grid", parent_id="no-such-unit"))[:2] == (404, "not_found")
    # The parent's level comes before the code.
    status, problem, detail = await post(ADMIN, code=taken["code"], level="small_grid", parent_id=village["id"])
    assert (status, problem) == (422, "invalid_level") and "must be a grid, not a small_grid" in detail
    status, problem, detail = await post(ADMIN, code=code(), level="micro_grid", parent_id=chain["micro_grid"]["id"])
    assert (status, problem) == (422, "invalid_level") and "nothing (micro grids have no children)" in detail
    assert await post(ADMIN, code=taken["code"], level="grid", parent_id=village["id"]) == (
        409,
        "duplicate_code",
        f"code {taken['code']} is already used under this parent",
    )
    # The same code under another parent is free; inside their scope a town admin creates.
    assert (await post(town_admin, code=taken["code"], level="grid", parent_id=other_village["id"]))[0] == 201
    # At the root: only counties, only by a platform admin, codes unique among counties.
    assert (await post(ADMIN, code=code(), level="town"))[:2] == (422, "validation_failed")
    assert (await post(town_admin, code=code(), level="county"))[:2] == (403, "forbidden")
    assert (await post(ADMIN, code=county["code"], level="county"))[:2] == (409, "duplicate_code")
    units, placements, orgs = await _rows_under(grid, county)
    assert (units, placements, orgs) == (before[0] + 1, before[1] + 1, before[2] + 1)


async def test_a_retired_parent_is_refused_before_its_level_and_codes(grid, chain):
    village = await create_unit(grid.client, "village", chain["town"]["id"], "撤并村")
    child = await create_unit(grid.client, "grid", village["id"], "旧网格")
    for unit in (child, village):
        response = await grid.client.post(f"{UNITS}/{unit['id']}/retire", headers=ADMIN)
        assert response.status_code == 200, response.text
    body = {"code": child["code"], "name": "x", "level": "town", "parent_id": village["id"]}
    response = await grid.client.post(UNITS, json=body, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["detail"] == "the parent unit is retired"
    assert response.json()["errors"][0]["loc"] == ["body", "parent_id"]


async def test_a_create_sees_the_transactions_own_pending_changes(grid, chain):
    """Called inside a larger transaction (a bulk import does), a create reads the tree as that transaction left it."""
    database = grid.runtime.database
    village = await create_unit(grid.client, "village", chain["town"]["id"], "待撤村")
    with pytest.raises(Problem) as refused:
        async with database.transaction() as session:
            await service.retire_unit(session, identity=PLATFORM_ADMIN, unit_id=village["id"])
            data = UnitCreate(code=code(), name="网格", level="grid", parent_id=village["id"])
            await service.create_unit(session, identity=PLATFORM_ADMIN, data=data)
    assert refused.value.detail == "the parent unit is retired"
    async with database.transaction() as session:
        data = UnitCreate(code="A1", name="甲", level="grid", parent_id=village["id"])
        first = await service.create_unit(session, identity=PLATFORM_ADMIN, data=data)
        with pytest.raises(Problem) as duplicate:
            await service.create_unit(session, identity=PLATFORM_ADMIN, data=data.model_copy(update={"name": "乙"}))
        assert duplicate.value.code == "duplicate_code"
        data = UnitCreate(code="B1", name="丙", level="small_grid", parent_id=first["id"])
        below = await service.create_unit(session, identity=PLATFORM_ADMIN, data=data)
    assert below["full_code"] == f"{village['full_code']}.A1.B1"
    assert await _rows_under(grid, village) == (3, 3, 2)


async def test_a_batch_checks_codes_against_the_tree_and_its_earlier_items(grid, chain, events):
    town = chain["town"]
    existing = await create_unit(grid.client, "village", town["id"], "老村")
    before = await _rows_under(grid, town)

    async def batch(items: list[dict]) -> tuple[int, dict | list]:
        response = await grid.client.post(f"{UNITS}:batch", json={"units": items}, headers=ADMIN)
        return response.status_code, response.json()

    status, problem = await batch(
        [
            {"code": code(), "name": "新村", "level": "village", "parent_id": town["id"]},
            {"code": existing["code"], "name": "重名村", "level": "village", "parent_id": town["id"]},
        ]
    )
    assert (status, problem["code"]) == (409, "duplicate_code")
    assert problem["detail"] == f"units[1]: code {existing['code']} is already used under this parent"
    same = code()
    status, problem = await batch(
        [
            {"ref": "v", "code": code(), "name": "新村", "level": "village", "parent_id": town["id"]},
            {"code": same, "name": "一网格", "level": "grid", "parent_ref": "v"},
            {"code": same, "name": "二网格", "level": "grid", "parent_ref": "v"},
        ]
    )
    assert (status, problem["code"]) == (409, "duplicate_code")
    assert problem["detail"] == f"units[2]: code {same} is already used under this parent"
    assert await _rows_under(grid, town) == before

    status, created = await batch(
        [
            {"ref": "v", "code": code(), "name": "新村", "level": "village", "parent_id": town["id"]},
            {"ref": "g", "code": same, "name": "一网格", "level": "grid", "parent_ref": "v"},
            {"code": same, "name": "一小网格", "level": "small_grid", "parent_ref": "g"},
            {"code": same, "name": "同码网格", "level": "grid", "parent_id": existing["id"]},
        ]
    )
    assert status == 201, created
    new_village, new_grid, new_small, beside = created
    assert new_small["path"] == f"{town['path']}{new_village['id']}/{new_grid['id']}/{new_small['id']}/"
    assert new_small["full_code"] == f"{town['full_code']}.{new_village['code']}.{same}.{same}"
    assert beside["parent_id"] == existing["id"]
    assert await _rows_under(grid, town) == (before[0] + 4, before[1] + 4, before[2] + 3)
    for unit in created:
        placements = (await grid.client.get(f"{UNITS}/{unit['id']}/placements", headers=ADMIN)).json()
        assert [(p["parent_id"], p["path"], p["ends_on"]) for p in placements] == [(unit["parent_id"], unit["path"], None)]
        event = await events.wait_for(ev.UnitCreated.event_type, unit["id"])
        assert (event["path"], event["full_code"], event["level"]) == (unit["path"], unit["full_code"], unit["level"])
    assert [o["name"] for o in await _orgs_under(grid, new_village["id"])] == ["新村党支部", "一网格党小组"]
