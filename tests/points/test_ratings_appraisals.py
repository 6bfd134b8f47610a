"""Star ratings, rankings, award candidates and appraisals (一创多评) through the HTTP API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from harness import eventually, identity_headers
from shared.database import Database
from shared.events.grid import HouseholdDissolved, HouseholdRegistered, HouseholdUpdated
from shared.identity import Identity, Role
from shared.ids import new_id


def admin() -> dict[str, str]:
    """Fresh platform-admin headers (identity tokens live a minute)."""
    return identity_headers()


async def _entries(client, member, rule, days):
    for day in days:
        body = {"member_id": member["id"], "rule_id": rule["id"], "occurred_on": day, "description": "乡村振兴"}
        response = await client.post("/api/v1/points/entries", json=body, headers=admin())
        assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
async def rated(world):
    x = await world.unit("village", world.town, "星级村")
    y = await world.unit("village", world.town, "对照村")
    m1, m2, m3 = await world.member(x, "一号"), await world.member(x, "二号"), await world.member(y, "三号")
    rule = await world.rule("RV", "rural_revitalization", 10)
    await _entries(world.client, m1, rule, ["2024-01-05", "2024-02-05", "2024-03-05", "2024-05-05", "2024-08-05", "2024-11-05"])
    await _entries(world.client, m2, rule, ["2024-02-06", "2024-07-06"])
    return {"x": x, "y": y, "m1": m1, "m2": m2, "m3": m3}


async def test_star_ratings_follow_thresholds_and_rank_members(world, rated):
    client = world.client
    town = world.town.id
    scheme = (await client.get(f"/api/v1/points/rating-schemes/{town}/year", headers=admin())).json()
    assert scheme == {"town_unit_id": town, "span_kind": "year", "thresholds": [20, 40, 60, 80, 100], "is_default": True}
    run = await client.post("/api/v1/points/ratings/compute", json={"town_unit_id": town, "period": "2024"}, headers=admin())
    assert run.status_code == 200, run.text
    ratings = {r["member_id"]: r for r in (await client.get("/api/v1/points/ratings", params={"town_unit_id": town, "period": "2024"}, headers=admin())).json()["items"]}
    m1, m2, m3 = (ratings[rated[k]["id"]] for k in ("m1", "m2", "m3"))
    assert (m1["total_points"], m1["stars"], m1["rank_in_branch"]) == (60, 3, 1)
    assert (m2["total_points"], m2["stars"], m2["rank_in_branch"]) == (20, 1, 2)
    assert (m3["total_points"], m3["stars"], m3["rank_in_branch"]) == (0, 0, 1)
    assert m1["rank_in_town"] == 1 and m2["rank_in_town"] == 2

    bad = await client.put(f"/api/v1/points/rating-schemes/{town}/year", json={"thresholds": [10, 5, 30, 40, 50]}, headers=admin())
    assert bad.status_code == 422
    secretary = world.secretary(rated["x"])
    assert (await client.put(f"/api/v1/points/rating-schemes/{town}/year", json={"thresholds": [10, 20, 30, 40, 50]}, headers=secretary)).status_code == 403
    assert (await client.put(f"/api/v1/points/rating-schemes/{town}/year", json={"thresholds": [10, 20, 30, 40, 50]}, headers=admin())).status_code == 200
    await client.post("/api/v1/points/ratings/compute", json={"town_unit_id": town, "period": "2024"}, headers=admin())
    again = {r["member_id"]: r for r in (await client.get("/api/v1/points/ratings", params={"town_unit_id": town, "period": "2024"}, headers=admin())).json()["items"]}
    assert again[rated["m1"]["id"]]["stars"] == 5 and again[rated["m2"]["id"]]["stars"] == 2
    assert again[rated["m1"]["id"]]["id"] == m1["id"]  # recomputing replaces, it does not duplicate

    quarter = await client.post("/api/v1/points/ratings/compute", json={"town_unit_id": town, "period": "2024-Q1"}, headers=admin())
    assert quarter.status_code == 200
    q1 = (await client.get("/api/v1/points/ratings", params={"town_unit_id": town, "period": "2024-Q1", "min_stars": 1}, headers=admin())).json()
    by_member = {r["member_id"]: r for r in q1["items"]}
    assert by_member[rated["m1"]["id"]]["total_points"] == 30 and by_member[rated["m1"]["id"]]["stars"] == 5  # default quarter thresholds
    assert by_member[rated["m2"]["id"]]["total_points"] == 10 and by_member[rated["m2"]["id"]]["stars"] == 2

    awards = (await client.get("/api/v1/points/award-candidates", params={"town_unit_id": town, "period": "2024", "min_stars": 5}, headers=admin())).json()
    assert [a["member_id"] for a in awards] == [rated["m1"]["id"]]
    # A village secretary sees the ratings of their own branch only.
    mine = (await client.get("/api/v1/points/ratings", params={"period": "2024"}, headers=secretary)).json()
    assert {r["member_id"] for r in mine["items"]} == {rated["m1"]["id"], rated["m2"]["id"]}
    # One member's ratings, every span, newest first (how the member profile finds the latest one).
    m1_id = rated["m1"]["id"]
    own_params = {"member_id": m1_id, "branch_unit_id": rated["x"].id}
    own = (await client.get("/api/v1/points/ratings", params=own_params, headers=admin())).json()
    assert [(r["member_id"], r["period"], r["stars"]) for r in own["items"]] == [(m1_id, "2024-Q1", 5), (m1_id, "2024", 5)]
    assert own["total"] == 2
    elsewhere = {"member_id": m1_id, "branch_unit_id": rated["y"].id}
    assert (await client.get("/api/v1/points/ratings", params=elsewhere, headers=admin())).json()["total"] == 0
    # The filter narrows the caller's scope, never widens it.
    other_branch = world.secretary(rated["y"])
    assert (await client.get("/api/v1/points/ratings", params={"member_id": m1_id}, headers=other_branch)).json()["items"] == []


async def test_rankings_within_branch_and_town(world, rated):
    client = world.client
    branch = (await client.get("/api/v1/points/rankings", params={"unit_id": rated["x"].id, "span": "2024"}, headers=admin())).json()
    assert [(l["rank"], l["name"], l["points"]) for l in branch["items"]] == [(1, "一号", 60), (2, "二号", 20)]
    month = (await client.get("/api/v1/points/rankings", params={"unit_id": rated["x"].id, "period": "2024-02"}, headers=admin())).json()
    assert [(l["rank"], l["points"]) for l in month["items"]] == [(1, 10), (1, 10)]
    town = (await client.get("/api/v1/points/rankings", params={"unit_id": world.town.id, "span": "2024", "per_page": 200}, headers=admin())).json()
    names = [l["name"] for l in town["items"]]
    assert names[:2] == ["一号", "二号"] and "三号" in names
    outsider = world.secretary(world.villages[0])
    assert (await client.get("/api/v1/points/rankings", params={"unit_id": rated["x"].id}, headers=outsider)).status_code == 404
    branches = (await client.get("/api/v1/points/balances/branches", params={"span": "2024"}, headers=admin())).json()
    assert {"branch_unit_id": rated["x"].id, "members": 2, "points": 80, "entries": 8} in branches["items"]


async def test_members_balances_over_a_month_a_span_or_all_time_in_scope(world, rated):
    client = world.client
    m1, m2, m3 = (rated[k]["id"] for k in ("m1", "m2", "m3"))

    async def balances(headers=None, **params) -> dict:
        response = await client.get("/api/v1/points/balances", params={"per_page": 200, **params}, headers=headers or admin())
        assert response.status_code == 200, response.text
        return response.json()

    def points(page: dict) -> dict[str, tuple[int, int]]:
        return {b["member_id"]: (b["points"], b["entries"]) for b in page["items"] if b["member_id"] in (m1, m2, m3)}

    under_x = await balances(under=rated["x"].id, span="2024")
    assert [(b["name"], b["points"], b["entries"]) for b in under_x["items"]] == [("一号", 60, 6), ("二号", 20, 2)]
    assert under_x["total"] == 2
    assert points(await balances(under=world.town.id, period="2024-02")) == {m1: (10, 1), m2: (10, 1), m3: (0, 0)}
    assert points(await balances(under=world.town.id, span="2024-Q3")) == {m1: (10, 1), m2: (10, 1), m3: (0, 0)}
    assert points(await balances(branch_unit_id=rated["y"].id)) == {m3: (0, 0)}
    first = await balances(under=rated["x"].id, per_page=1)
    assert first["total"] == 2 and [b["member_id"] for b in first["items"]] == [m1]
    # A village secretary sees their own branch; another unit is outside their scope.
    secretary = world.secretary(rated["x"])
    assert set(points(await balances(secretary))) == {m1, m2}
    assert (await client.get("/api/v1/points/balances", params={"under": rated["y"].id}, headers=secretary)).status_code == 404


async def _pass_deadline(stack, appraisal_id: str) -> None:
    database = Database(stack.services["points"].database_url)
    try:
        async with database.transaction() as session:
            await session.execute(
                text("UPDATE appraisals SET objection_deadline = :t WHERE id = :id"),
                {"t": datetime.now(UTC) - timedelta(minutes=1), "id": appraisal_id},
            )
    finally:
        await database.dispose()


async def test_civilised_household_appraisal_with_objection_revocation_and_cool_off(world, stack, rated):
    client = world.client
    village = rated["x"]
    households = []
    for head in ("王家", "李家", "张家"):
        household_id, micro_grid = new_id(), new_id()
        # As grid-svc does: registered without a head, who is named by a later update.
        await world.publisher.publish(
            HouseholdRegistered(household_id=household_id, unit_id=micro_grid, unit_path=f"{village.path}{micro_grid}/", address="禹王村1号")
        )
        await world.publisher.publish(HouseholdUpdated(household_id=household_id, unit_id=micro_grid, address="禹王村1号", head_name=head))
        households.append(household_id)
    await world.publisher.publish(HouseholdDissolved(household_id=households[2], unit_id=micro_grid, dissolved_on=date(2025, 1, 1)))

    async def all_known():
        listed = (await client.get("/api/v1/points/households", params={"under": village.id}, headers=admin())).json()["items"]
        return [(h["head_name"], h["dissolved_on"]) for h in sorted(listed, key=lambda h: households.index(h["id"]))] == [
            ("王家", None), ("李家", None), ("张家", "2025-01-01")
        ]

    await eventually(all_known)
    campaign = {
        "town_unit_id": world.town.id, "kind": "civilised_household", "name": "2025年度十星级文明户", "year": 2025,
        "criteria": [{"code": "family", "name": "家庭和睦", "weight": 60}, {"code": "civic", "name": "遵纪守法", "weight": 40}],
        "pass_score": 80, "objection_working_days": 1,
    }
    bad = await client.post("/api/v1/points/appraisals", json={**campaign, "criteria": [{"code": "a", "name": "a", "weight": 50}]}, headers=admin())
    assert bad.status_code == 422
    created = await client.post("/api/v1/points/appraisals", json=campaign, headers=admin())
    assert created.status_code == 201, created.text
    appraisal = created.json()
    base = f"/api/v1/points/appraisals/{appraisal['id']}"
    h1 = (await client.post(f"{base}/candidates", json={"subject_id": households[0]}, headers=admin())).json()
    h2 = (await client.post(f"{base}/candidates", json={"subject_id": households[1]}, headers=admin())).json()
    assert h1["subject_name"] == "王家" and h1["status"] == "nominated"
    dup = await client.post(f"{base}/candidates", json={"subject_id": households[0]}, headers=admin())
    assert dup.status_code == 409
    dissolved = await client.post(f"{base}/candidates", json={"subject_id": households[2]}, headers=admin())
    assert dissolved.status_code == 422 and dissolved.json()["code"] == "household_dissolved"
    unknown = await client.post(f"{base}/candidates", json={"subject_id": village.id}, headers=admin())
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_subject"
    unscored = await client.post(f"{base}/publish", headers=admin())
    assert unscored.status_code == 422 and unscored.json()["code"] == "unscored_candidates"
    mismatch = await client.put(f"{base}/candidates/{h1['id']}/scores", json={"scores": {"family": 90}}, headers=admin())
    assert mismatch.status_code == 422 and mismatch.json()["code"] == "criteria_mismatch"
    scored = await client.put(f"{base}/candidates/{h1['id']}/scores", json={"scores": {"family": 90, "civic": 85}}, headers=admin())
    assert scored.json()["weighted_x100"] == 8800
    await client.put(f"{base}/candidates/{h2['id']}/scores", json={"scores": {"family": 70, "civic": 80}}, headers=admin())

    published = await client.post(f"{base}/publish", headers=admin())
    assert published.status_code == 200, published.text
    result = published.json()
    assert result["status"] == "published"
    assert [(c["subject_name"], c["status"]) for c in result["candidates"]] == [("王家", "awarded"), ("李家", "not_awarded")]
    gateway = identity_headers(Identity(subject="gateway", role=Role.SERVICE))
    public = (await client.get(f"/api/v1/points/public/appraisals/{appraisal['id']}", headers=gateway)).json()
    assert public["lines"] == [
        {"rank": 1, "name": "王家", "score": "88.00", "status": "awarded"},
        {"rank": 2, "name": "李家", "score": "74.00", "status": "not_awarded"},
    ]

    resident = identity_headers(Identity(subject="villager", role=Role.RESIDENT, scope_unit_id=village.id))
    objection = await client.post(f"{base}/objections", json={"candidate_id": h1["id"], "reason": "邻里纠纷未解决"}, headers=resident)
    assert objection.status_code == 201, objection.text
    early = await client.post(f"{base}/close", headers=admin())
    assert early.status_code == 409 and early.json()["code"] == "objection_window_open"
    await _pass_deadline(stack, appraisal["id"])
    pending = await client.post(f"{base}/close", headers=admin())
    assert pending.status_code == 409 and pending.json()["code"] == "objections_pending"
    decided = await client.post(
        f"{base}/objections/{objection.json()['id']}/resolve", json={"decision": "rejected", "reason": "已调解"}, headers=admin()
    )
    assert decided.status_code == 200 and decided.json()["status"] == "rejected"
    closed = await client.post(f"{base}/close", headers=admin())
    assert closed.status_code == 200 and closed.json()["status"] == "closed"

    revoked = await client.post(f"{base}/candidates/{h1['id']}/revoke", json={"reason": "违反村规民约"}, headers=admin())
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    not_awarded = await client.post(f"{base}/candidates/{h2['id']}/revoke", json={"reason": "x"}, headers=admin())
    assert not_awarded.status_code == 409

    next_year = (await client.post("/api/v1/points/appraisals", json={**campaign, "year": 2026}, headers=admin())).json()
    cool = await client.post(f"/api/v1/points/appraisals/{next_year['id']}/candidates", json={"subject_id": households[0]}, headers=admin())
    assert cool.status_code == 422 and cool.json()["code"] == "cool_off"
    assert (await client.post(f"/api/v1/points/appraisals/{next_year['id']}/candidates", json={"subject_id": households[1]}, headers=admin())).status_code == 201


async def test_civilised_village_appraisal_and_upheld_objection(world, stack, rated):
    client = world.client
    campaign = {
        "town_unit_id": world.town.id, "kind": "civilised_village", "name": "2025年度文明村", "year": 2025,
        "criteria": [{"code": "env", "name": "人居环境", "weight": 100}], "pass_score": 60, "objection_working_days": 1,
    }
    appraisal = (await client.post("/api/v1/points/appraisals", json=campaign, headers=admin())).json()
    base = f"/api/v1/points/appraisals/{appraisal['id']}"
    village = await client.post(f"{base}/candidates", json={"subject_id": rated["x"].id}, headers=admin())
    assert village.status_code == 201 and village.json()["subject_name"] == "星级村"
    not_a_village = await client.post(f"{base}/candidates", json={"subject_id": world.town.id}, headers=admin())
    assert not_a_village.status_code == 422
    await client.put(f"{base}/candidates/{village.json()['id']}/scores", json={"scores": {"env": 75}}, headers=admin())
    assert (await client.get(f"/api/v1/points/public/appraisals/{appraisal['id']}", headers=admin())).status_code == 404  # a draft
    await client.post(f"{base}/publish", headers=admin())
    objection = (await client.post(f"{base}/objections", json={"candidate_id": village.json()["id"], "reason": "垃圾未清"}, headers=admin())).json()
    upheld = await client.post(f"{base}/objections/{objection['id']}/resolve", json={"decision": "upheld", "reason": "核实属实"}, headers=admin())
    assert upheld.status_code == 200
    detail = (await client.get(base, headers=admin())).json()
    assert detail["candidates"][0]["status"] == "withdrawn" and detail["objections"][0]["status"] == "upheld"
    listed = (await client.get("/api/v1/points/appraisals", params={"kind": "civilised_village"}, headers=world.secretary(rated["x"]))).json()
    assert appraisal["id"] in [a["id"] for a in listed["items"]]
