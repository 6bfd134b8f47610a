"""A person's summary: the orders assigned to them and the lectures they gave, each the same as its list gives
the same caller (newest 10 and the total of what the caller may see)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from dispatch.world import ADMIN, known, staff

from harness import eventually
from shared.identity import Role

BASE = "/api/v1/dispatch"


async def _ok(response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _summary(client, person_id: str, headers) -> dict:
    return await _ok(await client.get(f"{BASE}/people/{person_id}/summary", headers=headers))


async def _lists(client, person_id: str, headers) -> dict:
    """What the summary stands for, asked of the two lists."""
    orders = await client.get(f"{BASE}/orders", params={"assignee_person_id": person_id, "per_page": 10}, headers=headers)
    lectures = await client.get(f"{BASE}/lectures", params={"lecturer_person_id": person_id, "per_page": 10}, headers=headers)
    return {"person_id": person_id, "orders": await _ok(orders), "lectures": await _ok(lectures)}


@pytest.fixture(scope="module")
async def work(client, feed, tree, clock):
    """A party member who served 11 orders in village A and 2 in village B and gave 12 lectures in A and 1 in B;
    a neighbour who served one order and gave one lecture in A."""
    worker = await feed.person("韩志愿", None, tree.village_a)
    await feed.member(worker, "韩志愿", tree.village_a)
    neighbour = await feed.person("冯大姐", None, tree.village_a)
    for person in (worker, neighbour):
        await eventually(lambda p=person: known(client, f"{BASE}/roster/people/{p}"))
    kind = await _ok(await client.post(
        f"{BASE}/service-types",
        json={"code": f"help{uuid.uuid4().hex[:6]}", "name": "代购代办", "category": "other", "response_hours": 24,
              "completion_days": 3},
        headers=ADMIN,
    ))

    async def served(unit, person: str) -> dict:
        clock.advance(timedelta(minutes=1))  # each order newer than the one before
        order = await _ok(await client.post(
            f"{BASE}/orders",
            json={"service_type_id": kind["id"], "unit_id": unit.id, "description": "代购药品", "contact_phone": "13812341234"},
            headers=ADMIN,
        ))
        await _ok(await client.post(f"{BASE}/orders/{order['id']}/accept", headers=ADMIN))
        to_person = {"assignee_person_id": person}
        dispatched = await client.post(f"{BASE}/orders/{order['id']}/dispatch", json=to_person, headers=ADMIN)
        return await _ok(dispatched)

    orders = [await served(tree.micro_a1 if i < 11 else tree.micro_b, worker) for i in range(13)]
    await served(tree.micro_a2, neighbour)

    async def lecture(unit, person: str, day: int) -> dict:
        body = {"unit_id": unit.id, "theme": f"第{day}讲", "held_at": f"2026-02-{day:02d}T20:00:00+08:00",
                "lecturer_person_ids": [person], "attendees": 20 + day}
        return await _ok(await client.post(f"{BASE}/lectures", json=body, headers=ADMIN))

    lectures = [await lecture(tree.village_a if day <= 12 else tree.village_b, worker, day) for day in range(1, 14)]
    await lecture(tree.village_a, neighbour, 20)
    return {"worker": worker, "neighbour": neighbour, "orders": orders, "lectures": lectures}


async def test_the_summary_answers_what_the_order_and_lecture_lists_answer(client, work):
    worker = work["worker"]
    summary = await _summary(client, worker, ADMIN)
    assert summary == await _lists(client, worker, ADMIN)
    # Newest first, ten of each, and the totals of all.
    assert summary["orders"]["total"] == 13 and summary["lectures"]["total"] == 13
    assert [o["id"] for o in summary["orders"]["items"]] == [o["id"] for o in reversed(work["orders"])][:10]
    assert [lec["id"] for lec in summary["lectures"]["items"]] == [lec["id"] for lec in reversed(work["lectures"])][:10]
    assert {o["assignee_person_id"] for o in summary["orders"]["items"]} == {worker}
    assert all(o["contact_phone"] == "138****1234" for o in summary["orders"]["items"])  # masked, as in lists
    assert summary["lectures"]["items"][0]["lecturers"] == [{"person_id": worker, "name": "韩志愿"}]

    neighbour = await _summary(client, work["neighbour"], ADMIN)
    assert (neighbour["orders"]["total"], neighbour["lectures"]["total"]) == (1, 1)
    # Someone with nothing: empty pages, not an error (as the lists answer).
    nobody = await _summary(client, "01NOSUCHPERSON000000000000", ADMIN)
    assert nobody["orders"] == nobody["lectures"] == {"items": [], "total": 0, "page": 1, "per_page": 10}
    too_long = await client.get(f"{BASE}/people/{'X' * 27}/summary", headers=ADMIN)
    assert too_long.status_code == 422


async def test_the_summary_counts_only_what_the_caller_may_see(client, tree, work):
    worker = work["worker"]
    for headers, orders, lectures in (
        (staff(Role.VILLAGE_SECRETARY, tree.village_a), 11, 12),
        (staff(Role.VILLAGE_SECRETARY, tree.village_b), 2, 1),
        (staff(Role.TOWN_ADMIN, tree.town), 13, 13),
        # Members see the orders assigned to them wherever they are, and the lectures in their scope.
        (staff(Role.PARTY_MEMBER, tree.village_a, person_id=worker), 13, 12),
        # A resident sees only their own orders: none of these.
        (staff(Role.RESIDENT, tree.micro_a1), 0, 0),
    ):
        summary = await _summary(client, worker, headers)
        assert (summary["orders"]["total"], summary["lectures"]["total"]) == (orders, lectures), headers.identity
        assert summary == await _lists(client, worker, headers)
    lost = await _summary(client, worker, staff(Role.VILLAGE_SECRETARY, None))
    assert (lost["orders"]["total"], lost["lectures"]["total"]) == (0, 0)
