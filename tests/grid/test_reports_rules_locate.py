"""Compliance reports, village rules with their public notice, and locating a point, through the HTTP API."""

from __future__ import annotations

from grid.registry_builders import ADMIN, create_chain, create_unit, headers_for, id_number, register_household, register_person

from shared.identity import Role


def square(lng: float, lat: float, size: float = 0.01) -> dict:
    return {"type": "Polygon", "coordinates": [[[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]]}


async def _assign(client, unit_id, person_id, role, **extra):
    response = await client.post("/api/v1/grid/assignments", json={"unit_id": unit_id, "person_id": person_id, "role": role, **extra}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


async def _link(client, **body):
    response = await client.post("/api/v1/grid/liaisons", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


async def test_compliance_reports_find_gaps_under_a_village(grid):
    client = grid.client
    chain = await create_chain(client)
    village, grid_full, micro_linked = chain["village"], chain["grid"], chain["micro_grid"]
    grid_partial = await create_unit(client, "grid", village["id"], "二网格")
    micro_bare = await create_unit(client, "micro_grid", chain["small_grid"]["id"], "空微网格")
    people = [await register_person(client, name=f"人{i}", unit_id=village["id"], id_number=id_number(100 + i)) for i in range(6)]
    for person, role in zip(people[:3], ["grid_leader", "grid_worker", "grid_assistant"], strict=True):
        await _assign(client, grid_full["id"], person["id"], role)
    await _assign(client, grid_partial["id"], people[3]["id"], "grid_leader")

    households = [await register_household(client, micro_linked["id"]) for _ in range(10)]
    lonely = await register_household(client, micro_bare["id"])
    member = await client.post("/api/v1/grid/party/members", json={"person_id": people[0]["id"], "unit_id": grid_full["id"], "joined_on": "2010-07-01"}, headers=ADMIN)
    assert member.status_code == 201, member.text
    await _link(client, kind="member_household", member_id=member.json()["id"], household_id=households[0]["id"])

    busy, idle = people[4], people[5]
    await _assign(client, village["id"], busy["id"], "cadre", title="包村干部")
    await _assign(client, village["id"], idle["id"], "cadre", title="片长")
    await _link(client, kind="cadre_grid", person_id=busy["id"], unit_id=grid_full["id"])
    for household in households:
        await _link(client, kind="cadre_household", person_id=busy["id"], household_id=household["id"])
    await _link(client, kind="cadre_grid", person_id=idle["id"], unit_id=grid_partial["id"])

    teams = (await client.get("/api/v1/grid/reports/incomplete-teams", params={"under": village["id"]}, headers=ADMIN)).json()
    assert [(t["unit_id"], t["missing_roles"]) for t in teams["items"]] == [(grid_partial["id"], ["grid_worker", "grid_assistant"])]
    cadres = (await client.get("/api/v1/grid/reports/cadres", params={"under": village["id"]}, headers=ADMIN)).json()
    assert [(c["person_id"], c["grids"], c["households"]) for c in cadres["items"]] == [(idle["id"], 1, 0)]
    every_cadre = (await client.get("/api/v1/grid/reports/cadres", params={"under": village["id"], "below_minimum": False}, headers=ADMIN)).json()
    assert {c["person_id"]: (c["grids"], c["households"]) for c in every_cadre["items"]} == {busy["id"]: (1, 10), idle["id"]: (1, 0)}
    unlinked = (await client.get("/api/v1/grid/reports/micro-grids-without-liaison", params={"under": village["id"]}, headers=ADMIN)).json()
    assert [(m["unit_id"], m["households"]) for m in unlinked["items"]] == [(micro_bare["id"], 1)]

    summary = (await client.get("/api/v1/grid/reports/compliance", params={"under": village["id"]}, headers=ADMIN)).json()
    assert summary["grids"] == 2 and summary["grids_with_incomplete_team"] == 1
    assert summary["cadres"] == 2 and summary["cadres_below_minimum"] == 1
    assert summary["micro_grids"] == 2 and summary["micro_grids_without_member_liaison"] == 1
    assert summary["households"] == 11 and summary["households_with_liaison"] == 10
    assert summary["liaison_coverage"] == round(10 / 11, 4)

    # Link the lonely household: the micro grid leaves the report and coverage reaches 100 %.
    await _link(client, kind="member_household", member_id=member.json()["id"], household_id=lonely["id"])
    after = (await client.get("/api/v1/grid/reports/compliance", params={"under": village["id"]}, headers=ADMIN)).json()
    assert after["micro_grids_without_member_liaison"] == 0 and after["liaison_coverage"] == 1.0
    # A report on a unit outside the caller's scope is a 404 like any other record.
    stranger = headers_for(Role.VILLAGE_SECRETARY, (await create_chain(client))["village"]["id"])
    assert (await client.get("/api/v1/grid/reports/compliance", params={"under": village["id"]}, headers=stranger)).status_code == 404


async def test_village_rules_are_versioned_and_the_published_one_is_public(grid):
    client = grid.client
    chain = await create_chain(client)
    village = chain["village"]["id"]
    secretary = headers_for(Role.VILLAGE_SECRETARY, village, subject="secretary-wang")
    url = f"/api/v1/grid/villages/{village}/rules/revisions"
    first = await client.post(url, json={"title": "东村村规民约", "text": "第一条 爱国守法。\n第二条 邻里和睦。\n", "effective_on": "2024-01-01"}, headers=secretary)
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1 and first.json()["changed_by"] == "secretary-wang"
    second = await client.post(
        url, json={"title": "东村村规民约", "text": "第一条 爱国守法。\n第二条 邻里和睦，互帮互助。\n第三条 移风易俗。\n", "effective_on": "2025-01-01", "note": "增加移风易俗"},
        headers=secretary,
    )
    assert second.json()["version"] == 2 and second.json()["is_current"] is True
    history = (await client.get(url, headers=secretary)).json()
    assert [r["version"] for r in history["items"]] == [2, 1] and [r["is_current"] for r in history["items"]] == [True, False]
    diff = (await client.get(f"{url}/2/diff", headers=secretary)).json()
    assert "+第三条 移风易俗。" in diff["diff"] and "-第二条 邻里和睦。" in diff["diff"] and diff["note"] == "增加移风易俗"

    public = f"/api/v1/grid/public/villages/{village}/rules"
    assert (await client.get(public)).status_code == 404  # nothing published yet
    stale = await client.post(f"{url}/1/publish", headers=secretary)
    assert stale.status_code == 409 and stale.json()["code"] == "not_current"
    assert (await client.post(f"{url}/2/publish", headers=headers_for(Role.RESIDENT, village))).status_code == 403
    published = await client.post(f"{url}/2/publish", headers=secretary)
    assert published.status_code == 200 and published.json()["published_at"]
    notice = await client.get(public)  # no identity at all
    assert notice.status_code == 200
    assert notice.json() == {
        "village_name": "东村",
        "town_name": "禹王镇",
        "county_name": "夏县",
        "title": "东村村规民约",
        "text": "第一条 爱国守法。\n第二条 邻里和睦，互帮互助。\n第三条 移风易俗。",
        "version": 2,
        "effective_on": "2025-01-01",
        "published_at": notice.json()["published_at"],
    }
    # A third draft does not change the public notice until it is published.
    await client.post(url, json={"title": "东村村规民约", "text": "草稿", "effective_on": "2026-01-01"}, headers=secretary)
    assert (await client.get(public)).json()["version"] == 2
    not_village = await client.post(f"/api/v1/grid/villages/{chain['grid']['id']}/rules/revisions", json={"title": "x", "text": "y", "effective_on": "2024-01-01"}, headers=ADMIN)
    assert not_village.status_code == 422 and not_village.json()["code"] == "invalid_level"


async def test_locate_finds_the_micro_grid_containing_a_point(grid):
    client = grid.client
    chain = await create_chain(client)
    west = chain["micro_grid"]
    east = await create_unit(client, "micro_grid", chain["small_grid"]["id"], "东微网格", boundary=square(111.01, 35.0))
    assert abs(east["centroid_lng"] - 111.015) < 1e-9
    response = await client.put(f"/api/v1/grid/units/{west['id']}/boundary", json={"boundary": square(111.0, 35.0)}, headers=ADMIN)
    assert response.status_code == 200, response.text

    found = await client.get("/api/v1/grid/locate", params={"lng": 111.005, "lat": 35.005}, headers=ADMIN)
    assert found.status_code == 200 and found.json()["id"] == west["id"]
    assert (await client.get("/api/v1/grid/locate", params={"lng": 111.015, "lat": 35.002}, headers=ADMIN)).json()["id"] == east["id"]
    outside = await client.get("/api/v1/grid/locate", params={"lng": 120.0, "lat": 30.0}, headers=ADMIN)
    assert outside.status_code == 404 and outside.headers["content-type"].startswith("application/problem+json")
    invalid = await client.get("/api/v1/grid/locate", params={"lng": 200, "lat": 35}, headers=ADMIN)
    assert invalid.status_code == 422
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    bad = await client.put(f"/api/v1/grid/units/{west['id']}/boundary", json={"boundary": bowtie}, headers=ADMIN)
    assert bad.status_code == 422
