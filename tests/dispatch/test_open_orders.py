"""A unit's open orders: the open page and the overdue page, each the same as the order list gives the same
caller for `status=<each open status>` (and `overdue=true`), with the same scope rules and masking."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from dispatch.world import ADMIN, START, Unit, known, staff

from harness import eventually
from shared.identity import Role
from shared.ids import new_id

BASE = "/api/v1/dispatch"
OPEN_STATUSES = ["submitted", "accepted", "dispatched", "in_progress", "returned"]
PHONE = "13812341234"


async def _ok(response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _lists(client, headers, **params) -> dict:
    """What the endpoint stands for, asked of the order list."""
    query = {"status": OPEN_STATUSES, "per_page": 10, **params}
    return {
        "open": await _ok(await client.get(f"{BASE}/orders", params=query, headers=headers)),
        "overdue": await _ok(await client.get(f"{BASE}/orders", params={**query, "overdue": "true"}, headers=headers)),
    }


async def _open(client, headers, **params) -> dict:
    return await _ok(await client.get(f"{BASE}/orders/open", params={"per_page": 10, **params}, headers=headers))


@pytest.fixture(scope="module")
async def orders(client, feed, tree, clock):
    """Orders in every status: four placed first and swept overdue (three in village A, one in B), then one of A's
    accepted and one cancelled; then, each newer than the one before, eleven open ones and three closed ones in village A, and one
    open order in village B placed by a resident for themselves."""
    worker = await feed.person("赵师傅", None, tree.village_a)
    await eventually(lambda: known(client, f"{BASE}/roster/people/{worker}"))
    kind = await _ok(await client.post(
        f"{BASE}/service-types",
        json={"code": f"fix{uuid.uuid4().hex[:6]}", "name": "水电维修", "category": "other", "response_hours": 24,
              "completion_days": 3},
        headers=ADMIN,
    ))

    async def place(unit, headers=ADMIN) -> dict:
        clock.advance(timedelta(minutes=1))  # each order newer than the one before
        body = {"service_type_id": kind["id"], "unit_id": unit.id, "description": "水管漏水", "contact_phone": PHONE}
        return await _ok(await client.post(f"{BASE}/orders", json=body, headers=headers))

    async def act(order: dict, *actions: str) -> dict:
        for action in actions:
            body = {"assignee_person_id": worker} if action == "dispatch" else {"reason": "测试"} if action in (
                "cancel", "reject", "return") else None
            order = await _ok(await client.post(f"{BASE}/orders/{order['id']}/{action}", json=body, headers=ADMIN))
        return order

    clock.set(START)
    late = [await place(unit) for unit in (tree.micro_a1, tree.micro_a2, tree.micro_a1, tree.micro_b)]
    swept = await _ok(await client.post(f"{BASE}/overdue/sweep", json={"as_of": (START + timedelta(days=2)).isoformat()},
                                        headers=ADMIN))
    assert {o["id"] for o in late} <= set(swept["response_overdue"]), swept
    await act(late[1], "accept")  # overdue, and still open
    await act(late[2], "cancel")  # overdue, but no longer open
    steps = [(), ("accept",), ("accept", "dispatch"), ("accept", "dispatch", "start"), ("accept", "dispatch", "return")]
    fresh = [await act(await place(tree.micro_a1 if i % 2 else tree.micro_a2), *steps[i % 5]) for i in range(11)]
    closed = [await act(await place(tree.micro_a1), *actions)
              for actions in (("reject",), ("accept", "dispatch", "start", "complete"), ("cancel",))]
    resident = staff(Role.RESIDENT, tree.micro_b)
    own = await place(tree.micro_b, resident)
    return {"late": late, "fresh": fresh, "closed": closed, "own": own, "resident": resident}


async def test_the_open_orders_are_what_the_order_list_answers(client, tree, orders):
    whole = await _open(client, ADMIN)
    assert whole == await _lists(client, ADMIN)
    # Open: everything but the cancelled late order and the three closed ones, newest first, ten of them.
    opened = [orders["own"], *reversed(orders["fresh"]), orders["late"][3], orders["late"][1], orders["late"][0]]
    assert whole["open"]["total"] == len(opened) == 15
    assert [o["id"] for o in whole["open"]["items"]] == [o["id"] for o in opened][:10]
    assert {o["status"] for o in whole["open"]["items"]} == set(OPEN_STATUSES)
    # Overdue: the late orders still open, newest first.
    assert [o["id"] for o in whole["overdue"]["items"]] == [orders["late"][i]["id"] for i in (3, 1, 0)]
    assert whole["overdue"]["total"] == 3
    assert all(o["contact_phone"] == "138****1234" for o in whole["open"]["items"] + whole["overdue"]["items"])

    village_a = await _open(client, ADMIN, under=tree.village_a.id)
    assert village_a == await _lists(client, ADMIN, under=tree.village_a.id)
    assert (village_a["open"]["total"], village_a["overdue"]["total"]) == (13, 2)
    micro_a1 = await _open(client, ADMIN, under=tree.micro_a1.id)
    assert micro_a1 == await _lists(client, ADMIN, under=tree.micro_a1.id)
    assert {o["unit_id"] for o in micro_a1["open"]["items"] + micro_a1["overdue"]["items"]} == {tree.micro_a1.id}

    # Any page of either, as the list pages it.
    second = await _open(client, ADMIN, under=tree.town.id, page=2, per_page=4)
    assert second == await _lists(client, ADMIN, under=tree.town.id, page=2, per_page=4)
    assert (len(second["open"]["items"]), second["open"]["per_page"], second["overdue"]["page"]) == (4, 4, 2)


async def test_the_open_orders_follow_the_callers_scope(client, tree, orders):
    village_a = staff(Role.VILLAGE_SECRETARY, tree.village_a)
    for headers, params, totals in (
        (village_a, {}, (13, 2)),
        (village_a, {"under": tree.micro_a2.id}, (7, 1)),
        (staff(Role.VILLAGE_SECRETARY, tree.village_b), {}, (2, 1)),
        (staff(Role.TOWN_ADMIN, tree.town), {"under": tree.village_b.id}, (2, 1)),
        (staff(Role.GRID_WORKER, tree.micro_a1), {}, (6, 1)),
        # A resident sees only their own orders.
        (orders["resident"], {}, (1, 0)),
        (staff(Role.RESIDENT, tree.micro_b), {}, (0, 0)),
    ):
        answer = await _open(client, headers, **params)
        assert (answer["open"]["total"], answer["overdue"]["total"]) == totals, (headers.identity, params)
        assert answer == await _lists(client, headers, **params)
    # Staff see an order's whole phone when they read it, and masked here as in the list.
    assert all(o["contact_phone"] == "138****1234" for o in (await _open(client, village_a))["open"]["items"])


async def test_outside_scope_unknown_and_invalid_units_are_refused_as_the_list_refuses_them(client, tree, orders):
    village_a = staff(Role.VILLAGE_SECRETARY, tree.village_a)
    for headers, under in ((village_a, tree.village_b.id), (village_a, tree.town.id), (ADMIN, new_id())):
        answer = await client.get(f"{BASE}/orders/open", params={"under": under}, headers=headers)
        listed = await client.get(f"{BASE}/orders", params={"under": under, "status": OPEN_STATUSES}, headers=headers)
        assert answer.status_code == listed.status_code == 404, answer.text
        # The same problem, but for where it was asked.
        assert {**answer.json(), "instance": None} == {**listed.json(), "instance": None}
    too_long = await client.get(f"{BASE}/orders/open", params={"under": "X" * 27}, headers=ADMIN)
    assert too_long.status_code == 422
    assert (await client.get(f"{BASE}/orders/open", params={"per_page": 0}, headers=ADMIN)).status_code == 422


async def test_a_caller_whose_scope_is_unknown_sees_nothing(client, orders):
    empty = {"items": [], "total": 0, "page": 1, "per_page": 10}
    unknown_unit = Unit(id=new_id(), path="/nowhere/", full_code="000")
    for headers in (staff(Role.VILLAGE_SECRETARY, None), staff(Role.VILLAGE_SECRETARY, unknown_unit)):
        answer = await _open(client, headers)
        assert answer == {"open": empty, "overdue": empty}
        assert answer == await _lists(client, headers)


async def test_each_filter_of_the_order_list_answers_the_whole_list_filtered(client, tree, orders):
    whole = await _ok(await client.get(f"{BASE}/orders", params={"per_page": 200}, headers=ADMIN))
    everything = whole["items"]
    assert len(everything) == whole["total"]  # one page holds them all
    dispatched = orders["fresh"][3]  # accepted, dispatched, started
    digits = dispatched["number"][-3:]
    cases = [
        ({"status": ["accepted", "returned"]}, lambda o: o["status"] in ("accepted", "returned")),
        ({"channel": orders["own"]["channel"]}, lambda o: o["channel"] == orders["own"]["channel"]),
        ({"assignee_person_id": dispatched["assignee_person_id"]}, lambda o: o["assignee_person_id"] == dispatched["assignee_person_id"]),
        ({"service_type_id": dispatched["service_type_id"]}, lambda o: o["service_type_id"] == dispatched["service_type_id"]),
        ({"overdue": "true"}, lambda o: o["response_overdue"] or o["completion_overdue"]),
        ({"overdue": "false"}, lambda o: not (o["response_overdue"] or o["completion_overdue"])),
        ({"q": digits}, lambda o: digits in o["number"] or digits in o["description"]),
        ({"q": "%"}, lambda o: "%" in o["number"] or "%" in o["description"]),  # a wildcard is a character here
        ({"under": tree.village_b.id, "status": "submitted"}, lambda o: o["unit_path"].startswith(tree.village_b.path) and o["status"] == "submitted"),
    ]
    for params, wanted in cases:
        answer = await _ok(await client.get(f"{BASE}/orders", params={"per_page": 200, **params}, headers=ADMIN))
        expected = [o["id"] for o in everything if wanted(o)]
        assert [o["id"] for o in answer["items"]] == expected and answer["total"] == len(expected), params
        assert expected or params == {"q": "%"}, params  # each case but the wildcard finds something
