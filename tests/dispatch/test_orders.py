"""Catalogue, providers, orders and their state machine through the HTTP API; grid events in, order events out."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from dispatch.world import ADMIN, known, staff

from dispatch_svc.orders.states import TRANSITIONS, Action, Status
from harness import eventually, statements_run
from shared.events.dispatch import OrderCompleted, OrderDispatched, OrderEvaluated, OrderReturned, OrderSubmitted
from shared.events.grid import HouseholdDissolved, HouseholdMoved, LiaisonUnlinked, MemberLeft
from shared.identity import Role

BASE = "/api/v1/dispatch"


def _code(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
async def types(client) -> dict[str, dict]:
    """Two service types: a training routed to providers, a repair routed to liaisons with a required attribute."""
    training = await client.post(
        f"{BASE}/service-types",
        json={"code": _code("rescue"), "name": "应急救护培训", "category": "emergency_training", "route_to": "provider",
              "response_hours": 24, "completion_days": 14},
        headers=ADMIN,
    )
    assert training.status_code == 201, training.text
    repair = await client.post(
        f"{BASE}/service-types",
        json={
            "code": _code("repair"), "name": "水电维修", "category": "repairs", "response_hours": 4, "completion_days": 2,
            "attributes": [
                {"code": "kind", "description": "维修类别", "datatype": "singlevaluelist", "required": True,
                 "values": [{"key": "water", "name": "水"}, {"key": "power", "name": "电"}]},
                {"code": "rooms", "description": "房间数", "datatype": "number"},
            ],
        },
        headers=ADMIN,
    )
    assert repair.status_code == 201, repair.text
    return {"training": training.json(), "repair": repair.json()}


@pytest.fixture(scope="module")
async def people(feed, client, tree) -> dict[str, str]:
    """A household in micro grid A1 with a resident; a cadre (party member) linked to it; a grid cadre; a non-member helper."""
    household = await feed.household(tree.micro_a1)
    resident = await feed.person("王大娘", household, tree.micro_a1)
    cadre = await feed.person("李书记", None, tree.village_a)
    grid_cadre = await feed.person("赵片长", None, tree.village_a)
    helper = await feed.person("孙志愿", None, tree.village_a)
    cadre_member = await feed.member(cadre, "李书记", tree.village_a)
    household_link = await feed.liaison("cadre_household", cadre, "李书记", tree.micro_a1, household)
    await feed.liaison("cadre_grid", grid_cadre, "赵片长", tree.grid_a)
    await eventually(lambda: known(client, f"{BASE}/roster/households/{household}"))
    await eventually(lambda: known(client, f"{BASE}/roster/people/{helper}"))

    async def liaisons_known():
        listed = (await client.get(f"{BASE}/roster/liaisons", params={"under": tree.village_a.id}, headers=ADMIN)).json()
        return listed["total"] == 2

    await eventually(liaisons_known)
    return {"household": household, "resident": resident, "cadre": cadre, "grid_cadre": grid_cadre, "helper": helper,
            "cadre_member": cadre_member, "household_link": household_link}


async def _order(client, types, tree, *, kind="repair", headers=None, **extra) -> dict:
    body = {"service_type_id": types[kind]["id"], "unit_id": tree.micro_a1.id, "description": "厨房水管漏水",
            "contact_phone": "13812341234", "channel": "grid_worker", **extra}
    if kind == "repair":
        body.setdefault("attributes", {"kind": "water"})
    response = await client.post(f"{BASE}/orders", json=body, headers=headers or ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


async def _act(client, order_id: str, action: str, body: dict | None = None, headers=None):
    return await client.post(f"{BASE}/orders/{order_id}/{action}", json=body, headers=headers or ADMIN)


async def test_catalogue_validates_and_lists(client, types):
    duplicate = await client.post(
        f"{BASE}/service-types", json={"code": types["repair"]["code"], "name": "重复", "category": "repairs"}, headers=ADMIN
    )
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_code"
    bad_code = await client.post(f"{BASE}/service-types", json={"code": "a.b", "name": "x", "category": "repairs"}, headers=ADMIN)
    assert bad_code.status_code == 422
    no_values = await client.post(
        f"{BASE}/service-types",
        json={"code": _code("x"), "name": "x", "category": "other", "attributes": [{"code": "k", "description": "d", "datatype": "singlevaluelist"}]},
        headers=ADMIN,
    )
    assert no_values.status_code == 422
    town_admin = await client.post(f"{BASE}/service-types", json={"code": _code("t"), "name": "x", "category": "other"}, headers=staff(Role.TOWN_ADMIN, None))
    assert town_admin.status_code == 403

    listed = (await client.get(f"{BASE}/service-types", params={"category": "repairs"}, headers=ADMIN)).json()
    assert types["repair"]["id"] in [t["id"] for t in listed["items"]]
    assert all(t["category"] == "repairs" for t in listed["items"])

    changed = await client.patch(f"{BASE}/service-types/{types['training']['id']}", json={"completion_days": 10}, headers=ADMIN)
    assert changed.status_code == 200 and changed.json()["completion_days"] == 10


async def test_providers_cover_areas_mask_phones_and_count_capacity(client, types, tree):
    created = await client.post(
        f"{BASE}/providers",
        json={"name": "县红十字会", "kind": "organisation", "area_unit_id": tree.town.id, "service_type_ids": [types["training"]["id"]],
              "contact_name": "张主任", "contact_phone": "13900001111", "capacity_per_month": 2},
        headers=staff(Role.TOWN_ADMIN, tree.town),
    )
    assert created.status_code == 201, created.text
    provider = created.json()
    assert provider["contact_phone"] == "13900001111"
    assert provider["area_path"] == tree.town.path

    village_secretary = staff(Role.VILLAGE_SECRETARY, tree.village_a)
    listed = (await client.get(f"{BASE}/providers", params={"service_type_id": types["training"]["id"]}, headers=village_secretary)).json()
    mine = [p for p in listed["items"] if p["id"] == provider["id"]]
    assert mine and mine[0]["contact_phone"] == "139****1111"
    # A village secretary sees a town-wide provider but may not change it.
    refused = await client.patch(f"{BASE}/providers/{provider['id']}", json={"capacity_per_month": 9}, headers=village_secretary)
    assert refused.status_code == 422 and refused.json()["code"] == "outside_scope"
    # Another town's staff do not see it at all.
    other_town = staff(Role.TOWN_ADMIN, tree.county)  # scope above: sees it
    assert (await client.get(f"{BASE}/providers/{provider['id']}", headers=other_town)).status_code == 200
    outside = await client.post(
        f"{BASE}/providers",
        json={"name": "外村队", "area_unit_id": tree.village_b.id, "service_type_ids": [types["training"]["id"]]},
        headers=village_secretary,
    )
    assert outside.status_code == 404  # village B is outside village A's scope

    capacity = (await client.get(f"{BASE}/providers/{provider['id']}/capacity", params={"month": "2026-03"}, headers=ADMIN)).json()
    assert capacity == {"provider_id": provider["id"], "month": "2026-03", "capacity": 2, "used": 0, "left": 2}


async def test_order_lifecycle_routes_to_the_household_cadre_and_emits_events(stack, client, types, tree, people, tap, clock):
    order = await _order(client, types, tree, household_id=people["household"], unit_id=None)
    assert order["status"] == "submitted"
    assert order["unit_id"] == tree.micro_a1.id
    assert order["proposed_person_id"] == people["cadre"]
    assert order["proposed_person_name"] == "李书记"
    assert order["address"] == "禹王村1组"
    assert order["allowed_actions"] == ["accept", "reject", "cancel"]

    routing = (await client.get(f"{BASE}/orders/{order['id']}/routing", headers=ADMIN)).json()
    assert [l["person_id"] for l in routing["liaisons"]] == [people["cadre"], people["grid_cadre"]]

    grid_worker = staff(Role.GRID_WORKER, tree.village_a)
    assert (await _act(client, order["id"], "accept", headers=grid_worker)).json()["status"] == "accepted"
    dispatched = (await _act(client, order["id"], "dispatch", {}, headers=grid_worker)).json()
    assert dispatched["status"] == "dispatched"
    assert dispatched["assignee_person_id"] == people["cadre"] and dispatched["assignee_name"] == "李书记"
    # The cadre acts on the order they were given.
    cadre = staff(Role.PARTY_MEMBER, tree.village_a, person_id=people["cadre"])
    assert (await _act(client, order["id"], "start", headers=cadre)).json()["status"] == "in_progress"
    completed = (await _act(client, order["id"], "complete", {"note": "已更换水管"}, headers=cadre)).json()
    assert completed["status"] == "completed"
    assert completed["served_by_person_id"] == people["cadre"] and completed["served_by_party_member"] is True
    evaluated = (await _act(client, order["id"], "evaluate", {"satisfaction": 5, "comment": "很满意"}, headers=grid_worker)).json()
    assert evaluated["status"] == "evaluated" and evaluated["satisfaction"] == 5

    history = evaluated["transitions"]
    assert [(t["action"], t["from_status"], t["to_status"]) for t in history] == [
        ("submit", None, "submitted"),
        ("accept", "submitted", "accepted"),
        ("dispatch", "accepted", "dispatched"),
        ("start", "dispatched", "in_progress"),
        ("complete", "in_progress", "completed"),
        ("evaluate", "completed", "evaluated"),
    ]
    assert history[3]["actor_role"] == "party_member"
    assert all(t["at"] for t in history)
    # Reading the order answers what the last move did, the order and its six steps from one statement.
    async with statements_run(stack.services["dispatch"].runtime.database.reader) as run:
        read = await client.get(f"{BASE}/orders/{order['id']}", headers=grid_worker)
    assert read.json() == evaluated
    assert len(run) == 1, run
    # Read again: on PostgreSQL a statement's second run goes by the driver itself (`shared.driver_reads`).
    assert (await client.get(f"{BASE}/orders/{order['id']}", headers=grid_worker)).json() == evaluated

    mine = lambda e: e.order_id == order["id"]  # noqa: E731
    (submitted,) = await tap.wait_for(OrderSubmitted, mine)
    assert submitted.service_type_code == types["repair"]["code"] and submitted.unit_path == tree.micro_a1.path
    assert submitted.household_id == people["household"] and submitted.channel == "grid_worker"
    (sent,) = await tap.wait_for(OrderDispatched, mine)
    assert sent.assignee_person_id == people["cadre"] and sent.provider_id is None
    (done,) = await tap.wait_for(OrderCompleted, mine)
    assert done.served_by_person_id == people["cadre"] and done.served_by_party_member is True
    assert done.occurred_on.isoformat() == "2026-03-10"
    (rated,) = await tap.wait_for(OrderEvaluated, mine)
    assert rated.satisfaction == 5
    envelope = next(meta for meta, e in tap.events if e is submitted)
    assert envelope["key"] == order["id"].encode()
    assert envelope["headers"]["ce_source"] == b"/dispatch-svc"


async def test_training_goes_to_a_provider_returns_and_is_redispatched(client, types, tree, people, tap):
    providers = (await client.get(f"{BASE}/providers", params={"service_type_id": types["training"]["id"]}, headers=ADMIN)).json()["items"]
    red_cross = providers[0]
    drums = await client.post(
        f"{BASE}/providers",
        json={"name": "锣鼓协会志愿队", "kind": "team", "area_unit_id": tree.village_a.id, "service_type_ids": [types["training"]["id"]],
              "capacity_per_month": 1},
        headers=ADMIN,
    )
    assert drums.status_code == 201
    drums = drums.json()

    order = await _order(client, types, tree, kind="training", requester_kind="group", unit_id=tree.village_a.id, description="村里想学急救")
    # The most local provider with capacity is proposed.
    assert order["proposed_provider_id"] == drums["id"]
    await _act(client, order["id"], "accept")
    dispatched = (await _act(client, order["id"], "dispatch", {})).json()
    assert dispatched["provider_id"] == drums["id"]
    assert (await client.get(f"{BASE}/providers/{drums['id']}/capacity", params={"month": "2026-03"}, headers=ADMIN)).json()["left"] == 0

    no_reason = await _act(client, order["id"], "return", {})
    assert no_reason.status_code == 422
    returned = (await _act(client, order["id"], "return", {"reason": "本月人手不足"})).json()
    assert returned["status"] == "returned" and returned["status_reason"] == "本月人手不足" and returned["provider_id"] is None
    assert returned["return_count"] == 1
    # The declined dispatch frees the provider's capacity again.
    assert (await client.get(f"{BASE}/providers/{drums['id']}/capacity", params={"month": "2026-03"}, headers=ADMIN)).json()["left"] == 1

    again = (await _act(client, order["id"], "dispatch", {"provider_id": red_cross["id"]})).json()
    assert again["status"] == "dispatched" and again["provider_id"] == red_cross["id"]
    (ret,) = await tap.wait_for(OrderReturned, lambda e: e.order_id == order["id"])
    assert ret.reason == "本月人手不足"
    dispatched_events = await tap.wait_for(OrderDispatched, lambda e: e.order_id == order["id"], count=2)
    assert [e.provider_id for e in dispatched_events] == [drums["id"], red_cross["id"]]

    # A provider that does not offer the service, or has no capacity left, is refused.
    other = await _order(client, types, tree, kind="repair")
    await _act(client, other["id"], "accept")
    wrong = await _act(client, other["id"], "dispatch", {"provider_id": red_cross["id"]})
    assert wrong.status_code == 409 and wrong.json()["code"] == "provider_not_offering"
    third = await _order(client, types, tree, kind="training", unit_id=tree.village_a.id)
    await _act(client, third["id"], "accept")
    fourth = await _order(client, types, tree, kind="training", unit_id=tree.village_a.id)
    await _act(client, fourth["id"], "accept")
    assert (await _act(client, third["id"], "dispatch", {"provider_id": red_cross["id"]})).status_code == 200
    full = await _act(client, fourth["id"], "dispatch", {"provider_id": red_cross["id"]})
    assert full.status_code == 409 and full.json()["code"] == "capacity_exhausted"


async def _order_in(client, types, tree, state: Status, people) -> dict:
    """An order brought to `state` by legal moves."""
    order = await _order(client, types, tree)
    path = {
        Status.SUBMITTED: [],
        Status.ACCEPTED: [("accept", None)],
        Status.DISPATCHED: [("accept", None), ("dispatch", {"assignee_person_id": people["helper"]})],
        Status.IN_PROGRESS: [("accept", None), ("dispatch", {"assignee_person_id": people["helper"]}), ("start", None)],
        Status.RETURNED: [("accept", None), ("dispatch", {"assignee_person_id": people["helper"]}), ("return", {"reason": "没空"})],
        Status.COMPLETED: [("accept", None), ("dispatch", {"assignee_person_id": people["helper"]}), ("start", None), ("complete", None)],
        Status.EVALUATED: [("accept", None), ("dispatch", {"assignee_person_id": people["helper"]}), ("start", None), ("complete", None),
                           ("evaluate", {"satisfaction": 3})],
        Status.CANCELLED: [("cancel", {"reason": "不需要了"})],
        Status.REJECTED: [("reject", {"reason": "不属于服务范围"})],
    }[state]
    for action, body in path:
        response = await _act(client, order["id"], action, body)
        assert response.status_code == 200, response.text
    assert (await client.get(f"{BASE}/orders/{order['id']}", headers=ADMIN)).json()["status"] == state.value
    return order


BODIES = {
    Action.ACCEPT: None,
    Action.DISPATCH: {"assignee_person_id": None},
    Action.START: None,
    Action.COMPLETE: None,
    Action.EVALUATE: {"satisfaction": 4},
    Action.RETURN: {"reason": "原因"},
    Action.CANCEL: {"reason": "原因"},
    Action.REJECT: {"reason": "原因"},
}


async def test_every_illegal_transition_answers_409_and_changes_nothing(client, types, tree, people):
    tried = 0
    for state in Status:
        order = await _order_in(client, types, tree, state, people)
        for action in Action:
            if action in TRANSITIONS[state]:
                continue
            body = BODIES[action]
            if action == Action.DISPATCH:
                body = {"assignee_person_id": people["helper"]}
            response = await _act(client, order["id"], action.value, body)
            assert response.status_code == 409, (state, action, response.text)
            problem = response.json()
            assert problem["code"] == "illegal_transition"
            assert f"cannot {action.value} an order that is {state.value}" in problem["detail"]
            tried += 1
        after = (await client.get(f"{BASE}/orders/{order['id']}", headers=ADMIN)).json()
        assert after["status"] == state.value
        assert len(after["transitions"]) == 1 + {"submitted": 0, "accepted": 1, "dispatched": 2, "in_progress": 3, "returned": 3,
                                                   "completed": 4, "evaluated": 5, "cancelled": 1, "rejected": 1}[state.value]
    illegal = sum(len(Action) - len(TRANSITIONS[s]) for s in Status)
    assert tried == illegal and illegal > 40


async def test_orders_are_validated_scoped_and_masked(client, types, tree, people):
    missing = await client.post(f"{BASE}/orders", json={"service_type_id": types["repair"]["id"], "unit_id": tree.micro_a1.id, "description": "x"}, headers=ADMIN)
    assert missing.status_code == 422 and missing.json()["code"] == "attribute_required"
    wrong = await client.post(
        f"{BASE}/orders",
        json={"service_type_id": types["repair"]["id"], "unit_id": tree.micro_a1.id, "description": "x", "attributes": {"kind": "gas"}},
        headers=ADMIN,
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_attribute"
    elsewhere = await client.post(
        f"{BASE}/orders",
        json={"service_type_code": types["repair"]["code"], "unit_id": tree.micro_b.id, "household_id": people["household"], "description": "x",
              "attributes": {"kind": "power"}},
        headers=ADMIN,
    )
    assert elsewhere.status_code == 422 and elsewhere.json()["code"] == "household_outside_unit"

    in_b = await _order(client, types, tree, unit_id=tree.micro_b.id, description="青龙村的单")
    village_a = staff(Role.VILLAGE_SECRETARY, tree.village_a)
    assert (await client.get(f"{BASE}/orders/{in_b['id']}", headers=village_a)).status_code == 404
    assert (await _act(client, in_b["id"], "accept", headers=village_a)).status_code == 404
    listed = (await client.get(f"{BASE}/orders", headers=village_a, params={"per_page": 200})).json()
    assert listed["items"] and all(o["unit_path"].startswith(tree.village_a.path) for o in listed["items"])
    assert all(o["contact_phone"] in ("", "138****1234") for o in listed["items"])

    # A resident orders for themselves, sees only their own orders, and may cancel but not accept them.
    resident = staff(Role.RESIDENT, tree.micro_a1, person_id=people["resident"], subject="resident-wang")
    own = await _order(client, types, tree, headers=resident, household_id=people["household"], channel="app")
    assert own["requester_person_id"] == people["resident"] and own["contact_phone"] == "138****1234"
    seen = (await client.get(f"{BASE}/orders", headers=resident)).json()
    assert [o["id"] for o in seen["items"]] == [own["id"]]
    assert (await _act(client, own["id"], "accept", headers=resident)).status_code == 403
    assert (await client.get(f"{BASE}/orders/{in_b['id']}", headers=resident)).status_code == 404
    cancelled = await _act(client, own["id"], "cancel", {"reason": "已自行解决"}, headers=resident)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"

    read_only = staff(Role.SYSTEM, tree.county, rights={"dispatch": "read"})
    assert (await _act(client, in_b["id"], "accept", headers=read_only)).status_code == 403

    filtered = (await client.get(f"{BASE}/orders", params={"under": tree.village_b.id, "status": ["submitted"]}, headers=ADMIN)).json()
    assert [o["id"] for o in filtered["items"]] == [in_b["id"]]


async def test_creating_an_order_is_idempotent(client, types, tree):
    key = {"Idempotency-Key": uuid.uuid4().hex, **ADMIN}
    body = {"service_type_id": types["repair"]["id"], "unit_id": tree.micro_a2.id, "description": "路灯坏了", "attributes": {"kind": "power"}}
    first = await client.post(f"{BASE}/orders", json=body, headers=key)
    second = await client.post(f"{BASE}/orders", json=body, headers=key)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second.headers.get("idempotent-replayed") == "true"


async def test_grid_changes_reach_routing_membership_and_households(client, types, tree, people, feed):
    """Runs last: it unlinks the household's cadre, ends his membership and moves the household."""
    await feed.send(
        LiaisonUnlinked(liaison_id=people["household_link"], kind="cadre_household", person_id=people["cadre"],
                        household_id=people["household"], unit_id=tree.micro_a1.id, ended_on=date(2026, 3, 1)),
        MemberLeft(member_id=people["cadre_member"], person_id=people["cadre"], left_on=date(2026, 3, 1), reason="组织关系转出"),
    )

    async def cadre_gone():
        person = (await client.get(f"{BASE}/roster/people/{people['cadre']}", headers=ADMIN)).json()
        links = (await client.get(f"{BASE}/roster/liaisons", params={"household_id": people["household"], "active": "true"}, headers=ADMIN)).json()
        return person["party_member"] is False and links["total"] == 0

    await eventually(cadre_gone)
    order = await _order(client, types, tree, household_id=people["household"], unit_id=None)
    # With the household's own cadre unlinked, the grid's cadre answers for it.
    assert order["proposed_person_id"] == people["grid_cadre"]
    await _act(client, order["id"], "accept")
    await _act(client, order["id"], "dispatch", {"assignee_person_id": people["cadre"]})
    await _act(client, order["id"], "start")
    done = (await _act(client, order["id"], "complete")).json()
    assert done["served_by_person_id"] == people["cadre"] and done["served_by_party_member"] is False

    await feed.send(HouseholdMoved(household_id=people["household"], from_unit_id=tree.micro_a1.id, unit_id=tree.micro_a2.id,
                                   unit_path=tree.micro_a2.path, moved_on=date(2026, 3, 5)))

    async def moved():
        household = (await client.get(f"{BASE}/roster/households/{people['household']}", headers=ADMIN)).json()
        return household["unit_id"] == tree.micro_a2.id

    await eventually(moved)
    after_move = await _order(client, types, tree, household_id=people["household"], unit_id=None)
    assert after_move["unit_id"] == tree.micro_a2.id and after_move["unit_path"] == tree.micro_a2.path

    await feed.send(HouseholdDissolved(household_id=people["household"], unit_id=tree.micro_a2.id, dissolved_on=date(2026, 3, 8)))

    async def dissolved():
        household = (await client.get(f"{BASE}/roster/households/{people['household']}", headers=ADMIN)).json()
        return household["dissolved_on"] == "2026-03-08"

    await eventually(dissolved)
    refused = await client.post(
        f"{BASE}/orders", json={"service_type_id": types["repair"]["id"], "household_id": people["household"], "description": "x",
                                "attributes": {"kind": "water"}}, headers=ADMIN,
    )
    assert refused.status_code == 422 and refused.json()["code"] == "household_dissolved"


async def test_unroutable_orders_retired_types_and_pages(client, types, tree):
    order = await _order(client, types, tree, unit_id=tree.micro_b.id, description="青龙村没有联系干部")
    await _act(client, order["id"], "accept")
    routing = (await client.get(f"{BASE}/orders/{order['id']}/routing", headers=ADMIN)).json()
    assert routing["liaisons"] == [] and routing["providers"] == []
    unroutable = await _act(client, order["id"], "dispatch", {})
    assert unroutable.status_code == 422 and unroutable.json()["code"] == "no_route"
    assert (await client.get(f"{BASE}/orders/{order['id']}", headers=ADMIN)).json()["status"] == "accepted"

    retired = await client.post(f"{BASE}/service-types", json={"code": _code("old"), "name": "停办的服务", "category": "other"}, headers=ADMIN)
    retired = retired.json()
    assert (await client.patch(f"{BASE}/service-types/{retired['id']}", json={"active": False}, headers=ADMIN)).json()["active"] is False
    refused = await client.post(f"{BASE}/orders", json={"service_type_id": retired["id"], "unit_id": tree.micro_b.id, "description": "x"}, headers=ADMIN)
    assert refused.status_code == 422 and refused.json()["code"] == "service_type_inactive"
    assert retired["code"] not in [s["service_code"] for s in (await client.get("/open311/v2/services.json")).json()]

    everything = (await client.get(f"{BASE}/orders", params={"per_page": 200}, headers=ADMIN)).json()
    first = (await client.get(f"{BASE}/orders", params={"per_page": 3, "page": 1}, headers=ADMIN)).json()
    second = (await client.get(f"{BASE}/orders", params={"per_page": 3, "page": 2}, headers=ADMIN)).json()
    assert first["total"] == everything["total"] > 6
    assert [o["id"] for o in first["items"] + second["items"]] == [o["id"] for o in everything["items"][:6]]
    assert (await client.get(f"{BASE}/orders", params={"per_page": 500}, headers=ADMIN)).status_code == 422
