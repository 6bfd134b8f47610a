"""A unit moved in grid-svc takes its party members with it: path, branch and town."""

from __future__ import annotations

from harness import eventually, identity_headers
from shared.events.grid import UnitMoved


async def test_a_village_moved_to_another_town_moves_its_members_there(world):
    village = world.villages[0]
    member = await world.member(village, "张党员")
    stayed = await world.member(world.villages[1], "李党员")
    other_town = await world.unit("town", world.county, "水头镇")
    new_path = f"{other_town.path}{village.id}/"
    await world.publisher.publish(UnitMoved(unit_id=village.id, parent_id=other_town.id, old_path=village.path, path=new_path, full_code="X"))

    async def read(member_id: str) -> dict:
        return (await world.client.get(f"/api/v1/points/members/{member_id}", headers=identity_headers())).json()

    async def moved() -> bool:
        return (await read(member["id"]))["unit_path"] == new_path

    await eventually(moved)
    after = await read(member["id"])
    assert (after["branch_unit_id"], after["town_unit_id"]) == (village.id, other_town.id)
    assert (await read(stayed["id"]))["unit_path"] == stayed["unit_path"]
