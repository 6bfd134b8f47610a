"""What the composed views ask of each service: one call per service where the services allow it, every
part from the call that answers it, and the same answers as the services' own endpoints."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date

import pytest

from harness import eventually
from shared.local_time import today
from shared.testing import free_port


async def _post(client, headers: dict, path: str, body: dict) -> dict:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), f"{path}: {response.text}"
    return response.json()


@pytest.fixture(scope="module")
async def world(backend, broker, tmp_path_factory, kit):
    stack = await kit.start_services(backend, broker, tmp_path_factory)
    transports = kit.recording_transports(stack)
    gateway = await kit.start_gateway(stack, "gateway", transports)
    await stack.wait_consumers_assigned()
    client = gateway.client
    admin = await kit.login(client, **kit.ADMIN)
    county = await kit.create_unit(client, admin, "county", None, "夏县")
    town = await kit.create_unit(client, admin, "town", county, "禹王镇")
    village = await kit.create_unit(client, admin, "village", town, "青龙村")
    grid = await kit.create_unit(client, admin, "grid", village, "一网格")
    small = await kit.create_unit(client, admin, "small_grid", grid, "一小网格")
    micro = await kit.create_unit(client, admin, "micro_grid", small, "一微网格")
    households = [
        await _post(client, admin, "/api/v1/grid/households",
                    {"code": f"H{uuid.uuid4().hex[:6]}", "address": "青龙村一组", "size": 2, "unit_id": micro["id"]})
        for _ in range(2)
    ]
    person = await _post(client, admin, "/api/v1/grid/people",
                         {"name": "王建国", "household_id": households[0]["id"], "relation": "head"})
    member = await _post(client, admin, "/api/v1/grid/party/members",
                         {"person_id": person["id"], "unit_id": village["id"], "joined_on": "2001-07-01"})
    await _post(client, admin, "/api/v1/grid/assignments", {"unit_id": grid["id"], "person_id": person["id"], "role": "grid_leader"})
    await _post(client, admin, "/api/v1/grid/liaisons",
                {"kind": "member_household", "member_id": member["id"], "household_id": households[1]["id"]})

    async def replicated() -> bool:
        return (await client.get(f"/api/v1/points/members/{member['id']}", headers=admin)).status_code == 200

    await eventually(replicated)
    yield {"kit": kit, "stack": stack, "client": client, "admin": admin, "transports": transports,
           "town": town, "village": village, "grid": grid, "micro": micro, "member": member, "person": person}
    await stack.close()


async def _calls(world, path: str, **params) -> tuple[dict, Counter]:
    """The view's answer and how many calls it made to each service."""
    for transport in world["transports"].values():
        transport.urls.clear()
    response = await world["client"].get(path, params=params, headers=world["admin"])
    assert response.status_code == 200, response.text
    return response.json(), Counter({domain: len(t.urls) for domain, t in world["transports"].items()})


async def _direct(world, path: str, **params) -> dict:
    response = await world["client"].get(path, params=params, headers=world["admin"])
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_overview_asks_grid_and_dispatch_once_and_answers_what_they_answer(world):
    client, admin, unit_id = world["client"], world["admin"], world["grid"]["id"]

    async def unit_known() -> bool:
        return (await client.get(f"/api/v1/dispatch/units/{world['micro']['id']}", headers=admin)).status_code == 200

    await eventually(unit_known)
    kind = await _post(client, admin, "/api/v1/dispatch/service-types", {
        "code": f"fix{uuid.uuid4().hex[:6]}", "name": "水电维修", "category": "other", "response_hours": 24, "completion_days": 3})
    placed = [await _post(client, admin, "/api/v1/dispatch/orders", {
        "service_type_id": kind["id"], "unit_id": world["micro"]["id"], "description": "水管漏水", "contact_phone": "13812341234"})
        for _ in range(2)]
    await _post(client, admin, f"/api/v1/dispatch/orders/{placed[0]['id']}/cancel", {"reason": "不需要了"})
    body, calls = await _calls(world, f"/api/v1/views/units/{unit_id}/overview")
    assert body["degraded"] == []
    # grid: one summary; dispatch: the open orders and the overdue ones; legal: the cases in progress; points: the top members.
    assert calls == Counter({"grid": 1, "dispatch": 1, "legal": 1, "points": 1})
    paths = {domain: [url.path for url in t.urls] for domain, t in world["transports"].items()}
    assert paths["dispatch"] == ["/api/v1/dispatch/orders/open"]
    # Each section as the order list answers it, cut to its items and total.
    open_statuses = ["submitted", "accepted", "dispatched", "in_progress", "returned"]
    for section, params in (("open_orders", {}), ("overdue_orders", {"overdue": "true"})):
        listed = await _direct(world, "/api/v1/dispatch/orders", under=unit_id, status=open_statuses, per_page=10, **params)
        assert body[section] == {"total": listed["total"], "items": listed["items"]}
    assert [order["id"] for order in body["open_orders"]["items"]] == [placed[1]["id"]]
    assert body["overdue_orders"] == {"total": 0, "items": []}
    assert body["unit"] == await _direct(world, f"/api/v1/grid/units/{unit_id}")
    assert body["units_below"] == await _direct(world, f"/api/v1/grid/units/{unit_id}/counts")
    assert body["team"] == (await _direct(world, "/api/v1/grid/assignments", unit_id=unit_id, per_page=200))["items"]
    assert body["compliance"] == await _direct(world, "/api/v1/grid/reports/compliance", under=unit_id)
    assert body["households"] == (await _direct(world, "/api/v1/grid/households", under=unit_id, per_page=1))["total"] == 2


async def test_without_dispatch_the_overview_names_both_order_sections(world):
    kit, stack = world["kit"], world["stack"]
    transports = kit.recording_transports(stack)
    del transports["dispatch"]
    gateway = await kit.start_gateway(stack, "gateway-overview-no-dispatch", transports,
                                      dispatch_url=f"http://127.0.0.1:{free_port()}")
    headers = await kit.login(gateway.client, **kit.ADMIN)
    response = await gateway.client.get(f"/api/v1/views/units/{world['grid']['id']}/overview", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert {(d["section"], d["service"], d["reason"]) for d in body["degraded"]} == {
        ("open_orders", "dispatch", "unreachable"), ("overdue_orders", "dispatch", "unreachable")}
    assert body["open_orders"] is None and body["overdue_orders"] is None
    assert body["unit"]["id"] == world["grid"]["id"] and body["cases_in_progress"] == {"total": 0, "items": []}
    assert Counter({domain: len(t.urls) for domain, t in transports.items()}) == Counter({"grid": 1, "legal": 1, "points": 1})


async def test_the_profile_asks_each_service_once_and_answers_what_their_lists_answer(world):
    client, admin, member, person = world["client"], world["admin"], world["member"], world["person"]
    day = today()  # the platform's day (Asia/Shanghai), as the services date records

    async def person_known() -> bool:
        return (await client.get(f"/api/v1/dispatch/roster/people/{person['id']}", headers=admin)).status_code == 200

    await eventually(person_known)
    lecture = await _post(client, admin, "/api/v1/dispatch/lectures", {
        "unit_id": world["village"]["id"], "theme": "防范电信诈骗", "held_at": f"{day.isoformat()}T00:00:00+08:00",
        "lecturer_person_ids": [person["id"]], "attendees": 30})
    body, calls = await _calls(world, f"/api/v1/views/members/{member['id']}/profile")
    assert body["degraded"] == []
    assert [given["id"] for given in body["lectures_given"]["items"]] == [lecture["id"]]
    # grid: the member summary; points: the member summary; dispatch: the person summary; legal: mediations.
    assert calls == Counter({"grid": 1, "points": 1, "dispatch": 1, "legal": 1})
    assert sum(calls.values()) == 4
    paths = {domain: [url.path for url in t.urls] for domain, t in world["transports"].items()}
    assert paths["points"] == [f"/api/v1/points/members/{member['id']}/summary"]
    assert paths["dispatch"] == [f"/api/v1/dispatch/people/{person['id']}/summary"]
    assert body["member"] == await _direct(world, f"/api/v1/grid/party/members/{member['id']}")
    assert body["roles"] == (await _direct(world, "/api/v1/grid/assignments", person_id=person["id"], per_page=200))["items"]
    assert [link["kind"] for link in body["liaisons"]] == ["member_household"]
    assert body["balance"] == await _direct(world, f"/api/v1/points/members/{member['id']}/balance")
    entries = await _direct(world, "/api/v1/points/entries", member_id=member["id"], per_page=10)
    assert body["recent_entries"] == entries["items"]
    orders = await _direct(world, "/api/v1/dispatch/orders", assignee_person_id=person["id"], per_page=10)
    assert body["orders_served"] == {"total": orders["total"], "items": orders["items"]}
    lectures = await _direct(world, "/api/v1/dispatch/lectures", lecturer_person_id=person["id"], per_page=10)
    assert body["lectures_given"] == {"total": lectures["total"], "items": lectures["items"]}
    mediations = await _direct(world, "/api/v1/legal/cases", mediator_person_id=person["id"], per_page=10)
    assert body["mediations"] == {"total": mediations["total"], "items": mediations["items"]}


async def test_the_dashboard_asks_each_service_once(world):
    town_id, day = world["town"]["id"], today()
    start = date(day.year, 1, 1) if day.month > 2 else day.replace(day=1)
    body, calls = await _calls(world, f"/api/v1/dashboards/towns/{town_id}", **{"from": start.isoformat(), "to": day.isoformat()})
    assert body["degraded"] == []
    assert calls == Counter({"grid": 1, "dispatch": 1, "legal": 1, "points": 1})
    months = [f"{day.year:04d}-{m:02d}" for m in range(start.month, day.month + 1)]
    assert body["figures"]["points_entries"] == (await _direct(world, "/api/v1/points/entries", under=town_id, period=months, per_page=1))["total"]
    counts = await _direct(world, f"/api/v1/grid/units/{town_id}/counts")
    assert (body["figures"]["grids"], body["figures"]["small_grids"], body["figures"]["micro_grids"]) == (
        counts["grid"], counts["small_grid"], counts["micro_grid"])
    assert body["figures"]["party_members"] == (await _direct(world, "/api/v1/grid/party/members", under=town_id, per_page=1))["total"] == 1
    assert body["figures"]["households"] == 2 and body["figures"]["liaison_coverage"] == 0.5


async def _profile_without(world, *stopped: str) -> tuple[dict, Counter]:
    """The profile from a gateway whose `stopped` services cannot be reached, and its calls to the others."""
    kit, stack, member = world["kit"], world["stack"], world["member"]
    transports = kit.recording_transports(stack)
    urls = {}
    for domain in stopped:
        del transports[domain]
        urls[f"{domain}_url"] = f"http://127.0.0.1:{free_port()}"
    gateway = await kit.start_gateway(stack, f"gateway-no-{'-'.join(stopped)}", transports, **urls)
    headers = await kit.login(gateway.client, **kit.ADMIN)
    response = await gateway.client.get(f"/api/v1/views/members/{member['id']}/profile", headers=headers)
    assert response.status_code == 200, response.text
    return response.json(), Counter({domain: len(t.urls) for domain, t in transports.items()})


async def test_without_grid_the_profile_takes_the_member_from_points_and_names_what_grid_would_have_given(world):
    member = world["member"]
    body, calls = await _profile_without(world, "grid")
    assert body["member"]["id"] == member["id"] and body["member"]["person_id"] == world["person"]["id"]
    assert body["member"] == await _direct(world, f"/api/v1/points/members/{member['id']}")
    assert {(d["section"], d["service"], d["reason"]) for d in body["degraded"]} == {
        ("roles", "grid", "unreachable"), ("liaisons", "grid", "unreachable")}
    assert body["roles"] is None and body["liaisons"] is None
    assert body["balance"]["member_id"] == member["id"] and body["mediations"] == {"total": 0, "items": []}
    assert body["orders_served"] is not None and body["lectures_given"] is not None  # asked for points' person
    # points' summary carries its copy of the member: standing in costs no further call.
    assert calls == Counter({"points": 1, "dispatch": 1, "legal": 1})


async def test_without_points_or_dispatch_the_profile_names_every_section_that_service_fills(world):
    body, calls = await _profile_without(world, "points")
    assert {(d["section"], d["service"], d["reason"]) for d in body["degraded"]} == {
        ("balance", "points", "unreachable"), ("rating", "points", "unreachable"), ("recent_entries", "points", "unreachable")}
    assert body["balance"] is None and body["rating"] is None and body["recent_entries"] is None
    assert body["member"]["id"] == world["member"]["id"] and body["orders_served"] == {"total": 0, "items": []}
    assert calls == Counter({"grid": 1, "dispatch": 1, "legal": 1})

    body, calls = await _profile_without(world, "dispatch")
    assert {(d["section"], d["service"], d["reason"]) for d in body["degraded"]} == {
        ("orders_served", "dispatch", "unreachable"), ("lectures_given", "dispatch", "unreachable")}
    assert body["orders_served"] is None and body["lectures_given"] is None
    assert body["balance"]["member_id"] == world["member"]["id"] and body["mediations"] == {"total": 0, "items": []}
    assert calls == Counter({"grid": 1, "points": 1, "legal": 1})

    # Neither grid nor points can say who this is: nothing is asked of the others.
    body, calls = await _profile_without(world, "grid", "points")
    assert body["member"] is None and body["orders_served"] is None and body["mediations"] is None
    assert {(d["section"], d["service"]) for d in body["degraded"]} == {
        ("member", "grid"), ("roles", "grid"), ("liaisons", "grid"),
        ("balance", "points"), ("rating", "points"), ("recent_entries", "points")}
    assert calls == Counter({"dispatch": 0, "legal": 0})


async def test_the_profile_names_the_members_own_latest_rating_not_the_branch_leaders(world):
    client, admin, village, member = world["client"], world["admin"], world["village"], world["member"]
    day = today()
    # A branch mate with more points, so the branch's ratings list the mate first.
    mate_person = await _post(client, admin, "/api/v1/grid/people", {"name": "李先锋", "unit_id": village["id"]})
    mate = await _post(client, admin, "/api/v1/grid/party/members",
                       {"person_id": mate_person["id"], "unit_id": village["id"], "joined_on": "2010-07-01"})

    async def replicated() -> bool:
        return (await client.get(f"/api/v1/points/members/{mate['id']}", headers=admin)).status_code == 200

    await eventually(replicated)
    rule = await _post(client, admin, "/api/v1/points/rules",
                       {"town_unit_id": world["town"]["id"], "code": "PV1", "name": "志愿服务", "points": 10,
                        "category": "rural_revitalization", "active_from": "2020-01-01"})
    await _post(client, admin, "/api/v1/points/entries",
                {"member_id": mate["id"], "rule_id": rule["id"], "occurred_on": day.isoformat(), "description": "志愿服务"})
    year = str(day.year)
    await _post(client, admin, "/api/v1/points/ratings/compute", {"town_unit_id": world["town"]["id"], "period": year})
    branch = await _direct(world, "/api/v1/points/ratings", branch_unit_id=village["id"], per_page=200)
    assert [r["member_id"] for r in branch["items"]] == [mate["id"], member["id"]]

    body, calls = await _calls(world, f"/api/v1/views/members/{member['id']}/profile")
    assert body["degraded"] == []
    assert calls == Counter({"grid": 1, "points": 1, "dispatch": 1, "legal": 1})
    assert body["rating"] == branch["items"][1]
    assert (body["rating"]["member_id"], body["rating"]["period"]) == (member["id"], year)
    # The same as points-svc's list of the member's own ratings gives first.
    own = await _direct(world, "/api/v1/points/ratings", branch_unit_id=village["id"], member_id=member["id"], per_page=1)
    assert body["rating"] == own["items"][0]
