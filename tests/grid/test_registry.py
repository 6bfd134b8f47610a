"""The grid registry through its HTTP API: units, households, people, party, roles, liaisons, history, events."""

from __future__ import annotations

import pytest
from grid.registry_builders import (
    ADMIN,
    build_report_town,
    code,
    create_chain,
    create_unit,
    headers_for,
    id_number,
    register_household,
    register_person,
)

from shared.events import grid as ev
from shared.identity import Role


async def test_report_town_has_41_139_431_and_a_party_org_per_town_village_grid(grid):
    county = await create_unit(grid.client, "county", None, "夏县")
    town = (await build_report_town(grid.client, county["id"]))["town"]
    counts = (await grid.client.get(f"/api/v1/grid/units/{town['id']}/counts", headers=ADMIN)).json()
    assert (counts["village"], counts["grid"], counts["small_grid"], counts["micro_grid"]) == (8, 41, 139, 431)
    orgs = (await grid.client.get("/api/v1/grid/party/orgs", params={"under": town["id"], "per_page": 200}, headers=ADMIN)).json()
    kinds = [o["kind"] for o in orgs["items"]]
    assert orgs["total"] == 1 + 8 + 41
    assert (kinds.count("committee"), kinds.count("branch"), kinds.count("group")) == (1, 8, 41)
    assert orgs["items"][0]["name"] == "禹王镇党委"


async def test_batch_is_all_or_nothing_and_names_the_bad_item(grid, chain):
    before = (await grid.client.get(f"/api/v1/grid/units/{chain['village']['id']}/counts", headers=ADMIN)).json()
    items = [
        {"ref": "g", "code": code(), "name": "新网格", "level": "grid", "parent_id": chain["village"]["id"]},
        {"parent_ref": "g", "code": code(), "name": "错层级", "level": "micro_grid"},
    ]
    response = await grid.client.post("/api/v1/grid/units:batch", json={"units": items}, headers=ADMIN)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "invalid_level"
    assert body["errors"][0]["loc"][:3] == ["body", "units", 1]
    after = (await grid.client.get(f"/api/v1/grid/units/{chain['village']['id']}/counts", headers=ADMIN)).json()
    assert after == before


async def test_a_batch_under_existing_parents_checks_each_items_parent_scope_and_code(grid, chain):
    client = grid.client
    village, other = chain["village"], await create_unit(grid.client, "village", chain["town"]["id"], "西村")
    taken = (await create_unit(client, "grid", village["id"], "已有网格"))["code"]

    def item(parent: dict, unit_code: str) -> dict:
        return {"code": unit_code, "name": "批量网格", "level": "grid", "parent_id": parent["id"]}

    # A code taken under one parent is free under another.
    response = await client.post("/api/v1/grid/units:batch", json={"units": [item(village, code()), item(other, taken)]}, headers=ADMIN)
    assert response.status_code == 201, response.text
    assert [u["parent_id"] for u in response.json()] == [village["id"], other["id"]]
    # Taken under its own parent: 409 naming the item.
    response = await client.post("/api/v1/grid/units:batch", json={"units": [item(other, code()), item(village, taken)]}, headers=ADMIN)
    assert response.status_code == 409 and response.json()["code"] == "duplicate_code"
    assert response.json()["detail"].startswith("units[1]:")
    # A parent outside the caller's scope, or unknown, is not found, even beside one inside it.
    secretary = headers_for(Role.VILLAGE_SECRETARY, village["id"])
    grid_under = (await client.get(f"/api/v1/grid/units/{village['id']}/counts", headers=ADMIN)).json()["grid"]
    for parent in (other, {"id": "01NOSUCHUNIT00000000000000"}):
        response = await client.post(
            "/api/v1/grid/units:batch",
            json={"units": [item(village, code()), item(parent, code())]},
            headers=secretary,
        )
        assert response.status_code == 404, response.text
    assert (await client.get(f"/api/v1/grid/units/{village['id']}/counts", headers=ADMIN)).json()["grid"] == grid_under


async def test_wrong_child_level_is_a_clear_422(grid, chain):
    response = await grid.client.post(
        "/api/v1/grid/units", json={"code": code(), "name": "x", "level": "micro_grid", "parent_id": chain["village"]["id"]}, headers=ADMIN
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_level"
    assert "must be a grid" in response.json()["detail"]


@pytest.mark.parametrize("bad_code", ["a.b", "有中文", "has space", "-lead", "x" * 33])
async def test_unit_codes_outside_the_pattern_are_a_clear_422(grid, chain, bad_code):
    response = await grid.client.post(
        "/api/v1/grid/units", json={"code": bad_code, "name": "x", "level": "grid", "parent_id": chain["village"]["id"]}, headers=ADMIN
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "code"]


async def test_household_person_member_role_liaison_flow_emits_events(grid, chain, events):
    client = grid.client
    micro = chain["micro_grid"]
    household = await register_household(client, micro["id"], tags=["elderly_alone", "low_income"])
    assert household["tags"] == ["elderly_alone", "low_income"]
    registered = await events.wait_for(ev.HouseholdRegistered.event_type, household["id"])
    assert registered["unit_path"] == micro["path"] and registered["tags"] == ["elderly_alone", "low_income"]

    head = await register_person(
        client, name="王大爷", gender="male", birth_date="1950-01-02", phone="13812341234", id_number=id_number(1, "19500102"),
        household_id=household["id"], relation="head", joined_on="2020-01-01",
    )
    assert head["household_id"] == household["id"] and head["unit_id"] == micro["id"]
    assert head["id_number"] == id_number(1, "19500102")  # an admin reads the full number
    joined = await events.wait_for(ev.PersonJoined.event_type, head["id"])
    assert joined == {"person_id": head["id"], "name": "王大爷", "household_id": household["id"], "unit_id": micro["id"], "unit_path": micro["path"]}
    read = (await client.get(f"/api/v1/grid/households/{household['id']}", headers=ADMIN)).json()
    assert read["head_person_id"] == head["id"] and read["head_name"] == "王大爷"

    member_person = await register_person(client, name="李党员", id_number=id_number(2), unit_id=chain["grid"]["id"])
    member = await client.post(
        "/api/v1/grid/party/members", json={"person_id": member_person["id"], "unit_id": chain["grid"]["id"], "joined_on": "2001-07-01"}, headers=ADMIN
    )
    assert member.status_code == 201, member.text
    member = member.json()
    assert member["org_kind"] == "group" and member["name"] == "李党员"
    member_event = await events.wait_for(ev.MemberJoined.event_type, member["id"])
    assert member_event["org_unit_id"] == chain["grid"]["id"] and member_event["org_unit_path"] == chain["grid"]["path"]
    again = await client.post(
        "/api/v1/grid/party/members", json={"person_id": member_person["id"], "unit_id": chain["village"]["id"], "joined_on": "2001-07-01"}, headers=ADMIN
    )
    assert again.status_code == 409 and again.json()["code"] == "already_member"

    role = await client.post(
        "/api/v1/grid/assignments", json={"unit_id": chain["grid"]["id"], "person_id": member_person["id"], "role": "grid_leader", "starts_on": "2024-01-01"},
        headers=ADMIN,
    )
    assert role.status_code == 201, role.text
    role = role.json()
    assigned = await events.wait_for(ev.RoleAssigned.event_type, role["id"])
    assert assigned["role"] == "grid_leader" and assigned["name"] == "李党员" and assigned["unit_path"] == chain["grid"]["path"]
    taken = await client.post(
        "/api/v1/grid/assignments", json={"unit_id": chain["grid"]["id"], "person_id": head["id"], "role": "grid_leader"}, headers=ADMIN
    )
    assert taken.status_code == 409 and taken.json()["code"] == "role_taken"
    wrong_level = await client.post(
        "/api/v1/grid/assignments", json={"unit_id": chain["county"]["id"], "person_id": head["id"], "role": "grid_worker"}, headers=ADMIN
    )
    assert wrong_level.status_code == 422 and wrong_level.json()["code"] == "invalid_level"

    link = await client.post(
        "/api/v1/grid/liaisons", json={"kind": "member_household", "member_id": member["id"], "household_id": household["id"], "starts_on": "2024-03-01"},
        headers=ADMIN,
    )
    assert link.status_code == 201, link.text
    link = link.json()
    assert link["name"] == "李党员" and link["household_code"] == household["code"] and link["unit_id"] == micro["id"]
    linked = await events.wait_for(ev.LiaisonLinked.event_type, link["id"])
    assert linked["member_id"] == member["id"] and linked["household_id"] == household["id"] and linked["unit_path"] == micro["path"]

    # A cadre needs a cadre assignment before any cadre link.
    cadre = await register_person(client, name="赵片长", id_number=id_number(3), unit_id=chain["town"]["id"])
    refused = await client.post("/api/v1/grid/liaisons", json={"kind": "cadre_grid", "person_id": cadre["id"], "unit_id": chain["grid"]["id"]}, headers=ADMIN)
    assert refused.status_code == 422 and refused.json()["code"] == "not_a_cadre"
    cadre_role = await client.post(
        "/api/v1/grid/assignments", json={"unit_id": chain["village"]["id"], "person_id": cadre["id"], "role": "cadre", "title": "包村干部"}, headers=ADMIN
    )
    assert cadre_role.status_code == 201, cadre_role.text
    grid_link = await client.post("/api/v1/grid/liaisons", json={"kind": "cadre_grid", "person_id": cadre["id"], "unit_id": chain["grid"]["id"]}, headers=ADMIN)
    assert grid_link.status_code == 201, grid_link.text
    not_grid = await client.post("/api/v1/grid/liaisons", json={"kind": "cadre_grid", "person_id": cadre["id"], "unit_id": micro["id"]}, headers=ADMIN)
    assert not_grid.status_code == 422 and not_grid.json()["code"] == "invalid_level"

    # The member leaves: their household link ends with them, and both are told.
    left = await client.post(f"/api/v1/grid/party/members/{member['id']}/leave", json={"left_on": "2025-01-01", "reason": "转出"}, headers=ADMIN)
    assert left.status_code == 200 and left.json()["left_on"] == "2025-01-01"
    assert (await events.wait_for(ev.MemberLeft.event_type, member["id"]))["left_on"] == "2025-01-01"
    assert (await events.wait_for(ev.LiaisonUnlinked.event_type, link["id"]))["ended_on"] == "2025-01-01"
    current_links = (await client.get("/api/v1/grid/liaisons", params={"household_id": household["id"]}, headers=ADMIN)).json()
    assert current_links["total"] == 0
    all_links = (await client.get("/api/v1/grid/liaisons", params={"household_id": household["id"], "include_ended": True}, headers=ADMIN)).json()
    assert [l["ends_on"] for l in all_links["items"]] == ["2025-01-01"]

    ended = await client.post(f"/api/v1/grid/assignments/{role['id']}/end", json={"ended_on": "2025-02-01"}, headers=ADMIN)
    assert ended.status_code == 200 and ended.json()["ends_on"] == "2025-02-01"
    assert (await events.wait_for(ev.RoleEnded.event_type, role["id"]))["role"] == "grid_leader"

    gone = await client.post(f"/api/v1/grid/households/{household['id']}/members/{head['id']}/leave", json={"left_on": "2025-03-01", "reason": "去世"}, headers=ADMIN)
    assert gone.status_code == 200
    assert (await events.wait_for(ev.PersonLeft.event_type, head["id"]))["household_id"] == household["id"]
    after = (await client.get(f"/api/v1/grid/households/{household['id']}", headers=ADMIN)).json()
    assert after["head_person_id"] is None
    for event_type, _, body in events.records:
        assert "id_number" not in body and "phone" not in body, event_type


async def test_household_move_keeps_history_and_answers_where_it_was(grid, chain, events):
    client = grid.client
    other_micro = await create_unit(client, "micro_grid", chain["small_grid"]["id"], "二微网格")
    household = await register_household(client, chain["micro_grid"]["id"], registered_on="2020-01-01")
    moved = await client.post(f"/api/v1/grid/households/{household['id']}/move", json={"unit_id": other_micro["id"], "moved_on": "2023-06-01"}, headers=ADMIN)
    assert moved.status_code == 200 and moved.json()["unit_id"] == other_micro["id"]

    async def listed_under(unit_id: str) -> set[str]:
        page = (await client.get("/api/v1/grid/households", params={"under": unit_id, "per_page": 200}, headers=ADMIN)).json()
        return {h["id"] for h in page["items"]}

    # The list finds the household under its new micro grid only.
    assert household["id"] in await listed_under(other_micro["id"])
    assert household["id"] not in await listed_under(chain["micro_grid"]["id"])
    event = await events.wait_for(ev.HouseholdMoved.event_type, household["id"])
    assert event == {"household_id": household["id"], "from_unit_id": chain["micro_grid"]["id"], "unit_id": other_micro["id"], "unit_path": other_micro["path"], "moved_on": "2023-06-01"}

    async def where(day):
        response = await client.get(f"/api/v1/grid/households/{household['id']}/location", params={"on": day}, headers=ADMIN)
        return response

    assert (await where("2022-12-31")).json()["unit_id"] == chain["micro_grid"]["id"]
    assert (await where("2023-06-01")).json()["unit_id"] == other_micro["id"]
    assert (await where("2019-12-31")).status_code == 404
    backdated = await client.post(f"/api/v1/grid/households/{household['id']}/move", json={"unit_id": chain["micro_grid"]["id"], "moved_on": "2023-01-01"}, headers=ADMIN)
    assert backdated.status_code == 422
    not_micro = await client.post(f"/api/v1/grid/households/{household['id']}/move", json={"unit_id": chain["grid"]["id"]}, headers=ADMIN)
    assert not_micro.status_code == 422 and not_micro.json()["code"] == "invalid_level"
    placements = (await client.get(f"/api/v1/grid/households/{household['id']}/placements", headers=ADMIN)).json()
    assert [(p["unit_id"], p["starts_on"], p["ends_on"]) for p in placements] == [
        (chain["micro_grid"]["id"], "2020-01-01", "2023-06-01"),
        (other_micro["id"], "2023-06-01", None),
    ]


async def test_regridding_keeps_the_path_a_household_had_then(grid):
    client = grid.client
    chain = await create_chain(client, established_on="2019-01-01")
    second_small = await create_unit(client, "small_grid", chain["grid"]["id"], "二小网格", established_on="2019-01-01")
    household = await register_household(client, chain["micro_grid"]["id"], registered_on="2020-01-01")
    old_path = chain["micro_grid"]["path"]
    moved = await client.post(f"/api/v1/grid/units/{chain['micro_grid']['id']}/move", json={"parent_id": second_small["id"], "moved_on": "2024-01-01"}, headers=ADMIN)
    assert moved.status_code == 200, moved.text
    assert moved.json()["path"] == f"{second_small['path']}{chain['micro_grid']['id']}/"
    then = (await client.get(f"/api/v1/grid/households/{household['id']}/location", params={"on": "2023-12-31"}, headers=ADMIN)).json()
    now = (await client.get(f"/api/v1/grid/households/{household['id']}/location", params={"on": "2024-01-01"}, headers=ADMIN)).json()
    assert then["unit_path"] == old_path and chain["small_grid"]["id"] in then["ancestor_ids"]
    assert now["unit_path"] == moved.json()["path"] and second_small["id"] in now["ancestor_ids"]
    history = (await client.get(f"/api/v1/grid/units/{chain['micro_grid']['id']}/placements", headers=ADMIN)).json()
    assert [h["parent_id"] for h in history] == [chain["small_grid"]["id"], second_small["id"]]
    retire = await client.post(f"/api/v1/grid/units/{chain['micro_grid']['id']}/retire", headers=ADMIN)
    assert retire.status_code == 409 and retire.json()["code"] == "has_households"


async def test_scope_roles_and_masking(grid):
    client = grid.client
    chain = await create_chain(client)
    other = await create_chain(client)
    worker = headers_for(Role.GRID_WORKER, chain["grid"]["id"])
    secretary = headers_for(Role.VILLAGE_SECRETARY, chain["village"]["id"])
    resident = headers_for(Role.RESIDENT, chain["village"]["id"])

    household = await register_household(client, chain["micro_grid"]["id"], headers=worker)
    person = await register_person(client, headers=worker, name="刘芳", phone="13912345678", id_number=id_number(7, "19800101"), household_id=household["id"])
    assert person["id_number"] == "1408**********" + id_number(7, "19800101")[-4:]
    assert person["phone"] == "139****5678" and person["personal_data_masked"] is True

    full = (await client.get(f"/api/v1/grid/people/{person['id']}", headers=secretary)).json()
    assert full["id_number"] == id_number(7, "19800101") and full["phone"] == "13912345678"
    assert full["personal_data_masked"] is False
    listed = (await client.get("/api/v1/grid/people", params={"household_id": household["id"]}, headers=secretary)).json()
    assert listed["items"][0]["phone"] == "139****5678" and "*" in listed["items"][0]["id_number"]

    # Outside the caller's subtree everything answers 404, as if it did not exist.
    foreign = await register_household(client, other["micro_grid"]["id"])
    assert (await client.get(f"/api/v1/grid/households/{foreign['id']}", headers=secretary)).status_code == 404
    assert (await client.get(f"/api/v1/grid/units/{other['village']['id']}", headers=secretary)).status_code == 404
    seen = (await client.get("/api/v1/grid/households", headers=secretary)).json()
    assert [h["id"] for h in seen["items"]] == [household["id"]]
    outside = await client.get("/api/v1/grid/households", params={"under": other["village"]["id"]}, headers=secretary)
    assert outside.status_code == 404
    stranger = headers_for(Role.VILLAGE_SECRETARY, "01UNKNOWNSCOPEUNIT00000000")
    assert (await client.get("/api/v1/grid/households", headers=stranger)).json() == {"items": [], "total": 0, "page": 1, "per_page": 50}
    # Workers keep the register but do not change structure; residents only read.
    structure = await client.post("/api/v1/grid/units", json={"code": code(), "name": "x", "level": "small_grid", "parent_id": chain["grid"]["id"]}, headers=worker)
    assert structure.status_code == 403 and structure.json()["code"] == "forbidden"
    assert (await client.post("/api/v1/grid/households", json={"code": code(), "address": "x", "unit_id": chain["micro_grid"]["id"]}, headers=resident)).status_code == 403
    assert (await client.get(f"/api/v1/grid/households/{household['id']}", headers=resident)).status_code == 200


async def test_filters_pagination_idempotency_and_validation(grid):
    client = grid.client
    chain = await create_chain(client)
    micro = chain["micro_grid"]["id"]
    for i in range(5):
        await register_household(client, micro, tags=["low_income"] if i % 2 == 0 else [], address=f"东村{i}号")
    low_income = (await client.get("/api/v1/grid/households", params={"under": chain["village"]["id"], "tag": "low_income"}, headers=ADMIN)).json()
    assert low_income["total"] == 3
    first = (await client.get("/api/v1/grid/households", params={"under": micro, "per_page": 2, "page": 1}, headers=ADMIN)).json()
    second = (await client.get("/api/v1/grid/households", params={"under": micro, "per_page": 2, "page": 2}, headers=ADMIN)).json()
    assert first["total"] == 5 and len(first["items"]) == 2
    assert not {h["id"] for h in first["items"]} & {h["id"] for h in second["items"]}
    by_address = (await client.get("/api/v1/grid/households", params={"under": micro, "q": "东村3号"}, headers=ADMIN)).json()
    assert by_address["total"] == 1
    # A page past the end is empty but still tells the total; LIKE wildcards in `q` match themselves.
    past_end = (await client.get("/api/v1/grid/households", params={"under": micro, "per_page": 2, "page": 4}, headers=ADMIN)).json()
    assert past_end["items"] == [] and past_end["total"] == 5
    assert (await client.get("/api/v1/grid/households", params={"under": micro, "q": "东村_号"}, headers=ADMIN)).json()["total"] == 0

    body = {"code": code(), "address": "东村9号", "unit_id": micro}
    key = {**ADMIN, "Idempotency-Key": code()}
    one = await client.post("/api/v1/grid/households", json=body, headers=key)
    two = await client.post("/api/v1/grid/households", json=body, headers=key)
    assert one.status_code == two.status_code == 201 and one.json()["id"] == two.json()["id"]
    assert two.headers.get("Idempotent-Replayed") == "true"
    duplicate = await client.post("/api/v1/grid/households", json=body, headers=ADMIN)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_code"

    bad_id = await client.post("/api/v1/grid/people", json={"name": "x", "unit_id": micro, "id_number": id_number(5)[:-1] + "0" if id_number(5)[-1] != "0" else id_number(5)[:-1] + "1"}, headers=ADMIN)
    assert bad_id.status_code == 422 and bad_id.headers["content-type"].startswith("application/problem+json")
    assert bad_id.json()["errors"][0]["loc"][-1] == "id_number"
    same_id = id_number(11)
    await register_person(client, unit_id=micro, id_number=same_id)
    twice = await client.post("/api/v1/grid/people", json={"name": "y", "unit_id": micro, "id_number": same_id}, headers=ADMIN)
    assert twice.status_code == 409 and twice.json()["code"] == "duplicate_id_number"
    missing = await client.get("/api/v1/grid/households/nope", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
