"""The registry summaries the gateway's views read: each answers what several list and read endpoints
answer, in one call, and must say exactly what they say — for an admin and for a scoped caller."""

from __future__ import annotations

from datetime import UTC, date, datetime

from grid.registry_builders import ADMIN, create_chain, create_unit, headers_for, id_number, register_household, register_person
from sqlalchemy import text

from grid_svc.reports.service import _liaisons_in_summary
from harness import analyze, plan_of, statements_run
from shared.identity import Role


async def _post(client, path: str, body: dict) -> dict:
    response = await client.post(path, json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


async def _get(client, path: str, headers: dict, **params) -> dict:
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _village(client, serial: int) -> dict:
    """A village with two grids, households, people, a member with roles and liaisons, a cadre, and a unit retired."""
    chain = await create_chain(client)
    village, grid, small, micro = chain["village"], chain["grid"], chain["small_grid"], chain["micro_grid"]
    second_grid = await create_unit(client, "grid", village["id"], "二网格")
    retired = await create_unit(client, "micro_grid", small["id"], "撤销微网格")
    assert (await client.post(f"/api/v1/grid/units/{retired['id']}/retire", json={}, headers=ADMIN)).status_code == 200
    households = [await register_household(client, micro["id"]) for _ in range(3)]
    member_person = await register_person(client, name="王党员", household_id=households[0]["id"], relation="head", id_number=id_number(serial))
    cadre = await register_person(client, name="李干部", unit_id=village["id"], id_number=id_number(serial + 1))
    other = await register_person(client, name="赵群众", unit_id=village["id"], id_number=id_number(serial + 2))
    member = await _post(client, "/api/v1/grid/party/members", {"person_id": member_person["id"], "unit_id": village["id"], "joined_on": "2001-07-01"})
    await _post(client, "/api/v1/grid/party/members", {"person_id": other["id"], "unit_id": grid["id"], "joined_on": "2015-07-01"})
    for role in ("grid_leader", "party_member"):
        await _post(client, "/api/v1/grid/assignments", {"unit_id": grid["id"], "person_id": member_person["id"], "role": role})
    await _post(client, "/api/v1/grid/assignments", {"unit_id": village["id"], "person_id": member_person["id"], "role": "committee_member"})
    await _post(client, "/api/v1/grid/assignments", {"unit_id": village["id"], "person_id": cadre["id"], "role": "cadre", "title": "包村干部"})
    await _post(client, "/api/v1/grid/liaisons", {"kind": "member_household", "member_id": member["id"], "household_id": households[1]["id"]})
    await _post(client, "/api/v1/grid/liaisons", {"kind": "cadre_grid", "person_id": cadre["id"], "unit_id": second_grid["id"]})
    await _post(client, "/api/v1/grid/liaisons", {"kind": "cadre_household", "person_id": cadre["id"], "household_id": households[2]["id"]})
    return {**chain, "second_grid": second_grid, "member": member, "person": member_person, "cadre": cadre}


async def test_the_unit_summary_says_what_the_unit_counts_team_members_and_compliance_endpoints_say(grid):
    client = grid.client
    world = await _village(client, 300)
    secretary = headers_for(Role.VILLAGE_SECRETARY, world["village"]["id"])
    for unit in ("town", "village", "grid", "micro_grid"):
        unit_id = world[unit]["id"]
        for headers in (ADMIN, secretary) if unit != "town" else (ADMIN,):
            summary = await _get(client, "/api/v1/grid/reports/unit-summary", headers, under=unit_id)
            assert summary["unit"] == await _get(client, f"/api/v1/grid/units/{unit_id}", headers)
            assert summary["units_below"] == await _get(client, f"/api/v1/grid/units/{unit_id}/counts", headers)
            team = await _get(client, "/api/v1/grid/assignments", headers, unit_id=unit_id, per_page=200)
            assert summary["team"] == team["items"]
            members = await _get(client, "/api/v1/grid/party/members", headers, under=unit_id, per_page=1)
            assert summary["party_members"] == members["total"]
            assert summary["compliance"] == await _get(client, "/api/v1/grid/reports/compliance", headers, under=unit_id)
    village = await _get(client, "/api/v1/grid/reports/unit-summary", ADMIN, under=world["village"]["id"])
    assert (village["units_below"]["grid"], village["units_below"]["micro_grid"]) == (2, 1)  # the retired micro grid is gone
    assert village["party_members"] == 2
    assert [(a["name"], a["role"]) for a in village["team"]] == [("李干部", "cadre"), ("王党员", "committee_member")]
    assert village["compliance"]["households"] == 3 and village["compliance"]["households_with_liaison"] == 2
    assert village["compliance"]["cadres"] == 1 and village["compliance"]["cadres_below_minimum"] == 1
    on_day = await _get(client, "/api/v1/grid/reports/unit-summary", ADMIN, under=world["village"]["id"], on="2000-01-01")
    assert on_day["compliance"]["on"] == "2000-01-01" and on_day["compliance"]["households"] == 0
    # The unit with the caller's scope, every count, and the team: three statements for a scoped caller too.
    async with statements_run(grid.runtime.database.reader) as run:
        await _get(client, "/api/v1/grid/reports/unit-summary", secretary, under=world["village"]["id"])
    assert len(run) == 3, run
    micro = await _get(client, "/api/v1/grid/reports/unit-summary", ADMIN, under=world["micro_grid"]["id"])
    assert micro["units_below"] == {"unit_id": world["micro_grid"]["id"], "county": 0, "town": 0, "village": 0, "grid": 0,
                                    "small_grid": 0, "micro_grid": 0}
    # Outside the caller's scope, or unknown: 404 like any other record.
    assert (await client.get("/api/v1/grid/reports/unit-summary", params={"under": world["town"]["id"]}, headers=secretary)).status_code == 404
    unknown = await client.get("/api/v1/grid/reports/unit-summary", params={"under": "01NOSUCHUNIT00000000000000"}, headers=ADMIN)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"


async def test_the_member_summary_says_what_the_member_assignments_and_liaisons_endpoints_say(grid):
    client = grid.client
    world = await _village(client, 310)
    member, person = world["member"], world["person"]
    grid_worker = headers_for(Role.GRID_WORKER, world["grid"]["id"])
    for headers in (ADMIN, headers_for(Role.VILLAGE_SECRETARY, world["village"]["id"])):
        summary = await _get(client, "/api/v1/grid/reports/member-summary", headers, member_id=member["id"])
        assert summary["member"] == await _get(client, f"/api/v1/grid/party/members/{member['id']}", headers)
        roles = await _get(client, "/api/v1/grid/assignments", headers, person_id=person["id"], per_page=200)
        assert summary["roles"] == roles["items"]
        by_member = await _get(client, "/api/v1/grid/liaisons", headers, member_id=member["id"], per_page=200)
        by_person = await _get(client, "/api/v1/grid/liaisons", headers, person_id=person["id"], per_page=200)
        assert sorted(link["id"] for link in summary["liaisons"]) == sorted({link["id"] for link in by_member["items"] + by_person["items"]})
    admin_view = await _get(client, "/api/v1/grid/reports/member-summary", ADMIN, member_id=member["id"])
    assert {r["role"] for r in admin_view["roles"]} == {"grid_leader", "party_member", "committee_member"}
    assert [(link["kind"], link["name"]) for link in admin_view["liaisons"]] == [("member_household", "王党员")]
    # The member belongs to the village's branch: a grid worker below it does not see them.
    assert (await client.get("/api/v1/grid/reports/member-summary", params={"member_id": member["id"]}, headers=grid_worker)).status_code == 404
    unknown = await client.get("/api/v1/grid/reports/member-summary", params={"member_id": "01NOSUCHMEMBER000000000000"}, headers=ADMIN)
    assert unknown.status_code == 404
    # Only what is in force today: a role ended today, a role from a later year and a link ended today drop out.
    leader = next(r for r in admin_view["roles"] if r["role"] == "grid_leader")
    assert (await client.post(f"/api/v1/grid/assignments/{leader['id']}/end", json={}, headers=ADMIN)).status_code == 200
    await _post(client, "/api/v1/grid/assignments", {"unit_id": world["second_grid"]["id"], "person_id": person["id"],
                                                     "role": "grid_worker", "starts_on": "2099-01-01"})
    link = admin_view["liaisons"][0]
    assert (await client.post(f"/api/v1/grid/liaisons/{link['id']}/end", json={}, headers=ADMIN)).status_code == 200
    later = await _get(client, "/api/v1/grid/reports/member-summary", ADMIN, member_id=member["id"])
    assert {r["role"] for r in later["roles"]} == {"party_member", "committee_member"} and later["liaisons"] == []
    assert later["member"] == admin_view["member"]


async def test_a_members_links_are_read_from_the_member_and_person_indexes_whatever_else_the_county_holds(grid):
    """The member summary's links are the member's or their person's: both found by index, so the statement does
    not read the county's other links (a sequential scan of every liaison, 13 ms at a county's 100,000)."""
    world = await _village(grid.client, 320)
    database = grid.runtime.database
    now = datetime.now(UTC)
    people = [
        dict(id=f"PLANPERSON{n:016d}", name=f"干部{n}", unit_id=world["village"]["id"], created_at=now, updated_at=now)
        for n in range(3_000)
    ]
    links = [
        dict(id=f"PLANLINK{n:018d}", kind="cadre_grid", person_id=person["id"], unit_id=world["grid"]["id"],
             starts_on=date(2020, 1, 1), created_at=now, updated_at=now)
        for n, person in enumerate(people)
    ]  # fmt: skip
    async with database.transaction() as session:
        for table, rows in (("people", people), ("liaisons", links)):
            await session.execute(text(f"INSERT INTO {table} ({', '.join(rows[0])}) VALUES ({', '.join(':' + c for c in rows[0])})"), rows)
    await analyze(database, "liaisons")
    values = {"member_id": world["member"]["id"], "person_id": world["person"]["id"], "today": date.today(), "listed": 500}
    plan = "\n".join(await plan_of(database, _liaisons_in_summary(False).params(values)))
    assert "ix_liaisons_member" in plan and "ix_liaisons_person" in plan, plan
    assert "SCAN liaisons\n" not in plan + "\n" and "Seq Scan on liaisons" not in plan, plan
    summary = await _get(grid.client, "/api/v1/grid/reports/member-summary", ADMIN, member_id=world["member"]["id"])
    assert [(link["kind"], link["name"]) for link in summary["liaisons"]] == [("member_household", "王党员")]
