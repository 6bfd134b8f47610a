"""A unit moved in grid-svc takes its orders and providers' areas with it: the new town serves and sees them."""

from __future__ import annotations

import uuid

from dispatch.world import ADMIN, known, staff

from harness import eventually
from shared.events.grid import UnitMoved
from shared.identity import Role

BASE = "/api/v1/dispatch"


async def test_a_village_moved_to_another_town_is_served_and_seen_there(client, feed, tree):
    repair = await client.post(
        f"{BASE}/service-types",
        json={"code": f"fix{uuid.uuid4().hex[:6]}", "name": "水电维修", "category": "repairs", "response_hours": 4, "completion_days": 2},
        headers=ADMIN,
    )
    assert repair.status_code == 201, repair.text
    order = await client.post(
        f"{BASE}/orders",
        json={"service_type_id": repair.json()["id"], "unit_id": tree.micro_b.id, "description": "路灯不亮", "channel": "grid_worker"},
        headers=ADMIN,
    )
    assert order.status_code == 201, order.text
    provider = await client.post(
        f"{BASE}/providers",
        json={"name": "青龙村电工组", "area_unit_id": tree.village_b.id, "service_type_ids": [repair.json()["id"]]},
        headers=ADMIN,
    )
    assert provider.status_code == 201, provider.text
    order_id, provider_id = order.json()["id"], provider.json()["id"]
    old_town = staff(Role.TOWN_ADMIN, tree.town)
    assert (await client.get(f"{BASE}/orders/{order_id}", headers=old_town)).status_code == 200

    other = await feed.unit("town", "水头镇", tree.county)
    await eventually(lambda: known(client, f"{BASE}/units/{other.id}"))
    new_path = f"{other.path}{tree.village_b.id}/"
    await feed.send(UnitMoved(
        unit_id=tree.village_b.id, parent_id=other.id, old_path=tree.village_b.path, path=new_path, full_code=f"{other.full_code}.B",
    ))

    async def moved() -> bool:
        return (await client.get(f"{BASE}/units/{tree.micro_b.id}", headers=ADMIN)).json()["path"].startswith(new_path)

    await eventually(moved)
    new_town = staff(Role.TOWN_ADMIN, other)
    read = await client.get(f"{BASE}/orders/{order_id}", headers=new_town)
    assert read.status_code == 200 and read.json()["unit_path"] == f"{new_path}{tree.micro_b.path.removeprefix(tree.village_b.path)}"
    listed = await client.get(f"{BASE}/orders", params={"under": other.id}, headers=new_town)
    assert [item["id"] for item in listed.json()["items"]] == [order_id]
    assert (await client.get(f"{BASE}/orders/{order_id}", headers=old_town)).status_code == 404
    assert order_id not in [item["id"] for item in (await client.get(f"{BASE}/orders", headers=old_town)).json()["items"]]
    for town, listed_there in ((new_town, [provider_id]), (old_town, [])):
        providers = await client.get(f"{BASE}/providers", headers=town)
        assert [item["id"] for item in providers.json()["items"]] == listed_there
