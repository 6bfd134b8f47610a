"""A member's summary: the roster's member, balance, newest entries and latest rating in one answer, each part
the same as its own endpoint gives the same caller."""

from __future__ import annotations

import pytest

from harness import identity_headers
from shared.identity import Identity, Role


def admin() -> dict[str, str]:
    """Fresh platform-admin headers (identity tokens live a minute)."""
    return identity_headers()


async def _get(client, path: str, headers: dict[str, str], **params) -> dict:
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _parts(client, member: dict, headers: dict[str, str]) -> dict:
    """What the summary's parts are, asked of the endpoints it stands for."""
    member_id = member["id"]
    ratings = await _get(
        client, "/api/v1/points/ratings", headers, branch_unit_id=member["branch_unit_id"], member_id=member_id, per_page=1
    )
    return {
        "member": await _get(client, f"/api/v1/points/members/{member_id}", headers),
        "balance": await _get(client, f"/api/v1/points/members/{member_id}/balance", headers),
        "entries": await _get(client, "/api/v1/points/entries", headers, member_id=member_id, per_page=10),
        "rating": ratings["items"][0] if ratings["items"] else None,
    }


@pytest.fixture(scope="module")
async def members(world):
    """Two members of one branch (one with 12 deeds in 2024) and one of another branch."""
    x, y = world.villages
    busy, idle, other = await world.member(x, "甲党员"), await world.member(x, "乙党员"), await world.member(y, "丙党员")
    rule = await world.rule("SUM1", "rural_revitalization", 10)
    for month in range(1, 13):
        body = {"member_id": busy["id"], "rule_id": rule["id"], "occurred_on": f"2024-{month:02d}-10", "description": "乡村振兴"}
        response = await world.client.post("/api/v1/points/entries", json=body, headers=admin())
        assert response.status_code == 201, response.text
    return {"busy": busy, "idle": idle, "other": other}


async def test_the_summary_answers_what_the_member_balance_entries_and_ratings_endpoints_answer(world, members):
    client, busy = world.client, members["busy"]
    summary = await _get(client, f"/api/v1/points/members/{busy['id']}/summary", admin())
    assert summary == await _parts(client, busy, admin())
    assert summary["balance"]["points"] == 120 and len(summary["balance"]["periods"]) == 12
    # The newest ten of twelve, newest first, and the total of all.
    assert (summary["entries"]["total"], len(summary["entries"]["items"])) == (12, 10)
    assert [e["period"] for e in summary["entries"]["items"]] == [f"2024-{m:02d}" for m in range(12, 2, -1)]
    assert summary["rating"] is None  # none computed yet

    idle = await _get(client, f"/api/v1/points/members/{members['idle']['id']}/summary", admin())
    assert idle["balance"] == {"member_id": members["idle"]["id"], "name": "乙党员", "branch_unit_id": busy["branch_unit_id"],
                               "points": 0, "entries": 0, "periods": []}
    assert idle["entries"] == {"items": [], "total": 0, "page": 1, "per_page": 10}


async def test_the_summary_names_the_latest_rating_of_the_members_branch(world, members):
    client, busy, town = world.client, members["busy"], world.town.id
    for period in ("2024", "2024-Q1"):
        run = await client.post("/api/v1/points/ratings/compute", json={"town_unit_id": town, "period": period}, headers=admin())
        assert run.status_code == 200, run.text
    summary = await _get(client, f"/api/v1/points/members/{busy['id']}/summary", admin())
    assert summary == await _parts(client, busy, admin())
    # The newest span first: the quarter sorts after the year it lies in.
    rating = summary["rating"]
    assert (rating["member_id"], rating["period"], rating["total_points"]) == (busy["id"], "2024-Q1", 30)
    idle = await _get(client, f"/api/v1/points/members/{members['idle']['id']}/summary", admin())
    assert (idle["rating"]["period"], idle["rating"]["stars"]) == ("2024-Q1", 0)


async def test_the_summary_keeps_to_the_callers_scope(world, members):
    client, busy = world.client, members["busy"]
    x, y = world.villages
    own_secretary = world.secretary(x)
    summary = await _get(client, f"/api/v1/points/members/{busy['id']}/summary", own_secretary)
    assert summary == await _parts(client, busy, own_secretary)
    assert summary["entries"]["total"] == 12
    county = identity_headers(Identity(subject="county-admin", role=Role.COUNTY_ADMIN, scope_unit_id=world.county.id))
    assert (await _get(client, f"/api/v1/points/members/{busy['id']}/summary", county)) == summary

    # Outside the caller's scope, or unknown: 404, as the member's balance answers.
    other_secretary = world.secretary(y)
    outside = await client.get(f"/api/v1/points/members/{busy['id']}/summary", headers=other_secretary)
    balance = await client.get(f"/api/v1/points/members/{busy['id']}/balance", headers=other_secretary)
    assert (outside.status_code, balance.status_code) == (404, 404)
    same = lambda problem: {k: v for k, v in problem.items() if k != "instance"}  # noqa: E731 - the path differs
    assert same(outside.json()) == same(balance.json())
    assert (await client.get("/api/v1/points/members/01NOSUCHMEMBER000000000000/summary", headers=admin())).status_code == 404
    # A caller whose scope unit points-svc does not know sees nobody.
    lost = Identity(subject="lost", role=Role.VILLAGE_SECRETARY, scope_unit_id="01NOSUCHUNIT00000000000000")
    unknown_scope = identity_headers(lost)
    assert (await client.get(f"/api/v1/points/members/{busy['id']}/summary", headers=unknown_scope)).status_code == 404
    # Their own branch's secretary on the other side sees their own member.
    theirs = await _get(client, f"/api/v1/points/members/{members['other']['id']}/summary", other_secretary)
    assert theirs == await _parts(client, members["other"], other_secretary)
