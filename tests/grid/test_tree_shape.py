"""A move and the writes that store a unit's path, side by side: whichever starts first, the other sees what it
committed, so nothing is left with a path from before the move (on SQLite writes take turns; on PostgreSQL the
tree's shape lock keeps them apart)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from grid.registry_builders import ADMIN, code, create_unit, register_household

from grid_svc.units import service
from grid_svc.units.models import UnitCreate
from shared.identity import Identity, Role

T = TypeVar("T")
PLATFORM_ADMIN = Identity(subject="test-admin", name="测试", role=Role.PLATFORM_ADMIN)
# Long enough for a write that did not wait to finish: then the other transaction commits after it, which is the
# order the lock prevents. A write that waits is simply let go when the transaction ends.
LET_RUN_S = 2.0


async def _while_open(transaction: Callable[[Any], Awaitable[None]], database, request: Awaitable[T]) -> T:
    """Run `transaction` and, before it commits, send `request`; its answer once both are done."""
    async with database.transaction() as session:
        await transaction(session)
        sent = asyncio.ensure_future(request)
        await asyncio.wait({sent}, timeout=LET_RUN_S)
    return await sent


async def _two_towns(client: httpx.AsyncClient) -> tuple[dict, dict, dict]:
    county = await create_unit(client, "county", None, "县")
    old_town = await create_unit(client, "town", county["id"], "甲镇")
    new_town = await create_unit(client, "town", county["id"], "乙镇")
    return old_town, new_town, await create_unit(client, "village", old_town["id"], "东村")


async def _counts(client: httpx.AsyncClient, unit_id: str) -> dict:
    response = await client.get(f"/api/v1/grid/units/{unit_id}/counts", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def _unit(client: httpx.AsyncClient, unit_id: str) -> dict:
    response = await client.get(f"/api/v1/grid/units/{unit_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_unit_created_while_its_village_moves_is_placed_under_the_new_town(grid):
    client = grid.client
    old_town, new_town, village = await _two_towns(client)

    async def move(session) -> None:
        await service.move_unit(session, identity=PLATFORM_ADMIN, unit_id=village["id"], parent_id=new_town["id"])

    body = {"code": code(), "name": "网格", "level": "grid", "parent_id": village["id"]}
    created = await _while_open(move, grid.runtime.database, client.post("/api/v1/grid/units", json=body, headers=ADMIN))
    assert created.status_code == 201, created.text
    moved_village, new_grid = await _unit(client, village["id"]), await _unit(client, created.json()["id"])
    assert new_grid["path"].startswith(moved_village["path"]) and new_town["id"] in new_grid["path"]
    assert new_grid["full_code"] == f"{moved_village['full_code']}.{body['code']}"
    assert ((await _counts(client, new_town["id"]))["grid"], (await _counts(client, old_town["id"]))["grid"]) == (1, 0)


async def test_a_move_waits_for_a_unit_being_created_under_the_village_and_takes_it_along(grid):
    client = grid.client
    old_town, new_town, village = await _two_towns(client)
    data = UnitCreate(code=code(), name="网格", level="grid", parent_id=village["id"])
    made: dict = {}

    async def create(session) -> None:
        made.update(await service.create_unit(session, identity=PLATFORM_ADMIN, data=data))

    request = client.post(f"/api/v1/grid/units/{village['id']}/move", json={"parent_id": new_town["id"]}, headers=ADMIN)
    moved = await _while_open(create, grid.runtime.database, request)
    assert moved.status_code == 200, moved.text
    new_grid = await _unit(client, made["id"])
    assert new_grid["path"].startswith(moved.json()["path"]) and new_town["id"] in new_grid["path"]
    assert ((await _counts(client, new_town["id"]))["grid"], (await _counts(client, old_town["id"]))["grid"]) == (1, 0)


async def test_a_household_registered_while_its_grid_moves_is_listed_under_the_new_town(grid):
    client = grid.client
    old_town, new_town, village = await _two_towns(client)
    parent = village
    for level in ("grid", "small_grid", "micro_grid"):
        parent = await create_unit(client, level, parent["id"])

    async def move(session) -> None:
        await service.move_unit(session, identity=PLATFORM_ADMIN, unit_id=village["id"], parent_id=new_town["id"])

    household = await _while_open(move, grid.runtime.database, register_household(client, parent["id"]))
    for town, listed in ((new_town, [household["id"]]), (old_town, [])):
        page = await client.get("/api/v1/grid/households", params={"under": town["id"]}, headers=ADMIN)
        assert page.status_code == 200, page.text
        assert ([h["id"] for h in page.json()["items"]], page.json()["total"]) == (listed, len(listed))
