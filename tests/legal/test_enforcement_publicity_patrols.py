"""legal-svc through its HTTP API and the real broker: enforcement, publicity, patrols, and the figures per unit and period."""

from __future__ import annotations

from datetime import date, timedelta

from harness import eventually, identity_headers
from shared.events.grid import UnitMoved
from shared.events.legal import CampaignLogged, PatrolLogged
from shared.identity import Identity, Role
from shared.local_time import today

API = "/api/v1/legal"


async def test_officer_certificates_expiring_soon_are_listed(legal, tree, roles):
    soon, later, past = today() + timedelta(days=20), today() + timedelta(days=400), today() - timedelta(days=1)
    ids = {}
    for number, valid_until in (("JZ-001", soon), ("JZ-002", later), ("JZ-003", past)):
        response = await legal.client.post(
            f"{API}/officers",
            json={"name": f"执法员{number}", "unit_id": tree["town"]["id"], "agency": "禹王镇综合行政执法队", "certificate_number": number, "certificate_valid_until": valid_until.isoformat()},
            headers=roles["town_admin"],
        )
        assert response.status_code == 201, response.text
        ids[number] = response.json()["id"]
    duplicate = await legal.client.post(
        f"{API}/officers",
        json={"name": "x", "unit_id": tree["town"]["id"], "agency": "y", "certificate_number": "JZ-001", "certificate_valid_until": later.isoformat()},
        headers=roles["town_admin"],
    )
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_certificate"

    expiring = await legal.client.get(f"{API}/officers", params={"expiring_within_days": 60}, headers=roles["town_admin"])
    assert [o["certificate_number"] for o in expiring.json()["items"]] == ["JZ-001"]
    assert expiring.json()["items"][0]["certificate_days_left"] == 20
    expired = await legal.client.get(f"{API}/officers", params={"expired": True}, headers=roles["town_admin"])
    assert [o["certificate_number"] for o in expired.json()["items"]] == ["JZ-003"]
    renewed = await legal.client.put(
        f"{API}/officers/{ids['JZ-003']}/certificate", json={"certificate_number": "JZ-003B", "certificate_valid_until": later.isoformat()}, headers=roles["town_admin"]
    )
    assert renewed.status_code == 200 and renewed.json()["certificate_days_left"] == 400
    assert (await legal.client.get(f"{API}/officers/{ids['JZ-001']}", headers=roles["other_town_admin"])).status_code == 404


async def test_campaigns_cover_units_and_inspections_track_rectification(legal, tree, roles, legal_events):
    body = {
        "theme": "临街商铺占道经营整治", "topic": "street_front_business", "unit_id": tree["town"]["id"],
        "unit_ids": [tree["village"]["id"]], "starts_on": "2026-05-01", "ends_on": "2026-05-31",
    }
    created = await legal.client.post(f"{API}/campaigns", json=body, headers=roles["town_admin"])
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert campaign["unit_ids"] == [tree["town"]["id"], tree["village"]["id"]]
    event = await legal_events.find(CampaignLogged, campaign_id=campaign["id"])
    assert event["theme"] == body["theme"] and event["starts_on"] == "2026-05-01" and tree["village"]["id"] in event["unit_ids"]
    outside = await legal.client.post(f"{API}/campaigns", json={**body, "unit_ids": [tree["other_town"]["id"]]}, headers=roles["town_admin"])
    assert outside.status_code == 404

    inspection = {
        "campaign_id": campaign["id"], "unit_id": tree["village"]["id"], "inspected_on": "2026-05-03", "target": "东村路口某超市",
        "findings": "货物占道堆放", "rectification": "pending", "rectification_due": "2026-05-10",
    }
    recorded = await legal.client.post(f"{API}/inspections", json=inspection, headers=roles["secretary"])
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["overdue"]  # due in May 2026, still pending
    late_date = await legal.client.post(f"{API}/inspections", json={**inspection, "inspected_on": "2026-06-03", "rectification_due": "2026-06-10"}, headers=roles["secretary"])
    assert late_date.status_code == 422
    no_due = await legal.client.post(f"{API}/inspections", json={**inspection, "rectification_due": None}, headers=roles["secretary"])
    assert no_due.status_code == 422
    overdue = await legal.client.get(f"{API}/inspections", params={"overdue": True}, headers=roles["town_admin"])
    assert [i["id"] for i in overdue.json()["items"]] == [recorded.json()["id"]]
    read = await legal.client.get(f"{API}/campaigns/{campaign['id']}", headers=roles["town_admin"])
    assert read.json()["inspections"] == 1 and read.json()["rectifications_pending"] == 1
    fixed = await legal.client.post(f"{API}/inspections/{recorded.json()['id']}/rectified", json={"rectified_on": "2026-05-08"}, headers=roles["secretary"])
    assert fixed.json()["rectification"] == "rectified" and not fixed.json()["overdue"]
    again = await legal.client.post(f"{API}/inspections/{recorded.json()['id']}/rectified", json={"rectified_on": "2026-05-08"}, headers=roles["secretary"])
    assert again.status_code == 409
    in_may = await legal.client.get(f"{API}/campaigns", params={"from": "2026-05-15", "to": "2026-06-15", "under": tree["village"]["id"]}, headers=roles["secretary"])
    assert [c["id"] for c in in_may.json()["items"]] == [campaign["id"]]
    in_june = await legal.client.get(f"{API}/campaigns", params={"from": "2026-06-01", "to": "2026-06-30"}, headers=roles["town_admin"])
    assert campaign["id"] not in [c["id"] for c in in_june.json()["items"]]
    bad_period = await legal.client.get(f"{API}/campaigns", params={"from": "2026-06-30", "to": "2026-06-01"}, headers=roles["town_admin"])
    assert bad_period.status_code == 422


async def test_publicity_teams_keep_members_and_events(legal, tree, roles):
    team = await legal.client.post(
        f"{API}/publicity-teams", json={"name": "禹王镇普法讲师团", "kind": "lecturer_group", "unit_id": tree["town"]["id"], "formed_on": "2025-01-01"}, headers=roles["town_admin"]
    )
    assert team.status_code == 201, team.text
    team_id = team.json()["id"]
    alice = await legal.client.post(f"{API}/publicity-teams/{team_id}/members", json={"name": "司法所长", "title": "讲师", "joined_on": "2025-01-01"}, headers=roles["town_admin"])
    bob = await legal.client.post(f"{API}/publicity-teams/{team_id}/members", json={"name": "退休教师", "joined_on": "2025-01-01"}, headers=roles["town_admin"])
    assert alice.status_code == bob.status_code == 201
    left = await legal.client.post(f"{API}/publicity-teams/{team_id}/members/{bob.json()['id']}/leave", json={"left_on": "2025-06-01"}, headers=roles["town_admin"])
    assert left.status_code == 200
    members = await legal.client.get(f"{API}/publicity-teams/{team_id}/members", headers=roles["party_member"])
    assert (await legal.client.get(f"{API}/publicity-teams/{team_id}", headers=roles["grid_worker"])).status_code == 404
    assert [m["name"] for m in members.json()["items"]] == ["司法所长"]
    assert (await legal.client.get(f"{API}/publicity-teams/{team_id}", headers=roles["town_admin"])).json()["members"] == 1

    event = await legal.client.post(
        f"{API}/publicity-events",
        json={"team_id": team_id, "unit_id": tree["village"]["id"], "held_on": "2026-05-04", "theme": "民法典进农村", "audience": 120, "materials": 300},
        headers=roles["secretary"],
    )
    assert event.status_code == 201, event.text
    before_formed = await legal.client.post(
        f"{API}/publicity-events", json={"team_id": team_id, "unit_id": tree["village"]["id"], "held_on": "2024-05-04", "theme": "x"}, headers=roles["secretary"]
    )
    assert before_formed.status_code == 422
    listed = await legal.client.get(f"{API}/publicity-events", params={"team_id": team_id, "from": "2026-05-01", "to": "2026-05-31"}, headers=roles["town_admin"])
    assert [e["audience"] for e in listed.json()["items"]] == [120]
    kinds = await legal.client.get(f"{API}/publicity-teams", params={"kind": "lecturer_group"}, headers=roles["town_admin"])
    assert [t["id"] for t in kinds.json()["items"]] == [team_id]


async def test_patrols_over_village_clusters_with_one_auxiliary_officer_per_village(legal, tree, roles, legal_events):
    team = await legal.client.post(
        f"{API}/patrol-teams",
        json={"name": "东片巡逻队", "unit_id": tree["town"]["id"], "village_ids": [tree["village"]["id"], tree["other_village"]["id"]], "formed_on": "2025-01-01"},
        headers=roles["town_admin"],
    )
    assert team.status_code == 201, team.text
    assert sorted(team.json()["village_ids"]) == sorted([tree["village"]["id"], tree["other_village"]["id"]])
    town_as_village = await legal.client.post(
        f"{API}/patrol-teams", json={"name": "x", "unit_id": tree["town"]["id"], "village_ids": [tree["town"]["id"]], "formed_on": "2025-01-01"}, headers=roles["town_admin"]
    )
    assert town_as_village.status_code == 422

    posting = {"name": "辅警小刘", "phone": "13712345678", "unit_id": tree["village"]["id"], "starts_on": "2025-01-01"}
    officer = await legal.client.post(f"{API}/auxiliary-officers", json=posting, headers=roles["town_admin"])
    assert officer.status_code == 201 and officer.json()["phone"] == "137****5678"
    second = await legal.client.post(f"{API}/auxiliary-officers", json={**posting, "name": "辅警小王", "starts_on": "2026-01-01"}, headers=roles["town_admin"])
    assert second.status_code == 409 and second.json()["code"] == "overlapping_posting"
    listed = await legal.client.get(f"{API}/auxiliary-officers", params={"active_on": "2026-01-01"}, headers=roles["town_admin"])
    assert [o["phone"] for o in listed.json()["items"]] == ["137****5678"]
    whole = await legal.client.get(f"{API}/auxiliary-officers/{officer.json()['id']}", headers=roles["town_admin"])
    assert whole.json()["phone"] == "13712345678"
    masked = await legal.client.get(f"{API}/auxiliary-officers/{officer.json()['id']}", headers=roles["grid_worker"])
    assert masked.json()["phone"] == "137****5678"
    ended = await legal.client.post(f"{API}/auxiliary-officers/{officer.json()['id']}/end", json={"ends_on": "2025-12-31"}, headers=roles["town_admin"])
    assert ended.status_code == 200
    assert (await legal.client.post(f"{API}/auxiliary-officers", json={**posting, "name": "辅警小王", "starts_on": "2026-01-01"}, headers=roles["town_admin"])).status_code == 201

    patrol = {
        "team_id": team.json()["id"], "unit_id": tree["village"]["id"], "started_at": "2026-05-05T20:00:00+08:00", "ended_at": "2026-05-05T22:30:00+08:00",
        "route": "村委会—集市—学校", "publicity": "反诈宣传", "people_reached": 40,
        "incidents": [
            {"kind": "fraud", "description": "拦下一笔刷单转账", "losses_prevented_fen": 2_000_000, "recovered_fen": 0},
            {"kind": "theft", "description": "追回被盗电动车", "recovered_fen": 350_000},
        ],
    }
    logged = await legal.client.post(f"{API}/patrols", json=patrol, headers=roles["secretary"])
    assert logged.status_code == 201, logged.text
    assert logged.json()["patrolled_on"] == "2026-05-05" and logged.json()["recovered_fen"] == 350_000
    assert logged.json()["losses_prevented_fen"] == 2_000_000
    event = await legal_events.find(PatrolLogged, patrol_id=logged.json()["id"])
    assert event["incidents"] == 2 and event["recovered_fen"] == 350_000 and event["patrolled_on"] == "2026-05-05"
    naive = await legal.client.post(f"{API}/patrols", json={**patrol, "started_at": "2026-05-05T20:00:00"}, headers=roles["secretary"])
    assert naive.status_code == 422
    not_cluster = await legal.client.post(f"{API}/patrols", json={**patrol, "unit_id": tree["town"]["id"]}, headers=roles["town_admin"])
    assert not_cluster.status_code == 422 and not_cluster.json()["code"] == "outside_cluster"
    frauds = await legal.client.get(f"{API}/patrols", params={"incident_kind": "fraud", "from": "2026-05-05", "to": "2026-05-05"}, headers=roles["town_admin"])
    assert [p["id"] for p in frauds.json()["items"]] == [logged.json()["id"]]


async def _post(legal, path: str, body: dict, headers: dict) -> dict:  # noqa: ANN001
    response = await legal.client.post(f"{API}{path}", json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def test_figures_per_unit_and_period_reproduce_the_report_ledger(legal, grid_feed, tree, roles):
    """A fresh town, with every kind of record once or twice, and one of each outside the period."""
    town = await grid_feed.unit("town", "胡张镇", tree["county"])
    village = await grid_feed.unit("village", "胡村", town)
    admin = identity_headers(Identity(subject="hz-admin", role=Role.TOWN_ADMIN, scope_unit_id=town["id"]))
    day = today()
    period = {"unit_id": town["id"], "from": (day - timedelta(days=7)).isoformat(), "to": day.isoformat()}
    old = date(2020, 3, 3)

    adviser = await _post(legal, "/advisers", {"name": "钱律师", "firm": "某律所", "unit_id": town["id"]}, admin)
    consultation = {"adviser_id": adviser["id"], "unit_id": village["id"], "asker_name": "甲", "category": "land", "question": "q", "answer": "a"}
    for asked_on in (day, day, old):
        await _post(legal, "/consultations", {**consultation, "asked_on": asked_on.isoformat()}, admin)
    affair = await _post(legal, "/legal-affairs", {"adviser_id": adviser["id"], "unit_id": village["id"], "kind": "litigation_support", "title": "t", "opened_on": day.isoformat()}, admin)
    await _post(legal, f"/legal-affairs/{affair['id']}/close", {"outcome": "胜诉", "closed_on": day.isoformat(), "recovered_fen": 4_000_000}, admin)

    parties = [{"role": "applicant", "name": "甲"}, {"role": "respondent", "name": "乙"}]
    case_body = {"unit_id": village["id"], "category": "debt", "facts": "f", "points_in_dispute": "p", "parties": parties}
    outcomes = [("legal_adviser", "agreed", 2_000_000), ("village_cadre", "agreed", 500_000), ("legal_adviser", "failed", 0)]
    for affiliation, outcome, recovered in outcomes:
        case = await _post(legal, "/cases", case_body, admin)
        await _post(legal, f"/cases/{case['id']}/accept", {}, admin)
        await _post(legal, f"/cases/{case['id']}/mediators", {"name": "m", "affiliation": affiliation}, admin)
        await _post(legal, f"/cases/{case['id']}/start-mediation", {}, admin)
        if outcome == "agreed":
            await _post(legal, f"/cases/{case['id']}/agreement", {"terms": "t", "signed_on": day.isoformat(), "recovered_fen": recovered}, admin)
        else:
            await _post(legal, f"/cases/{case['id']}/failure", {"reason": "r", "referred_to": "arbitration", "concluded_on": day.isoformat()}, admin)
    risky = await _post(legal, "/cases", case_body, admin)
    await legal.client.put(f"{API}/cases/{risky['id']}/risk", json={"risk_level": "high"}, headers=admin)

    await _post(legal, "/campaigns", {"theme": "违建整治", "topic": "illegal_structures", "unit_id": town["id"], "starts_on": (day - timedelta(days=30)).isoformat()}, admin)
    await _post(legal, "/campaigns", {"theme": "旧整治", "topic": "other", "unit_id": town["id"], "starts_on": "2020-01-01", "ends_on": "2020-02-01"}, admin)
    await _post(legal, "/inspections", {"unit_id": village["id"], "inspected_on": day.isoformat(), "target": "t", "findings": "f", "rectification": "pending", "rectification_due": day.isoformat()}, admin)
    for kind in ("lecturer_group", "volunteer_team", "legal_savvy_villagers"):
        await _post(legal, "/publicity-teams", {"name": kind, "kind": kind, "unit_id": town["id"], "formed_on": "2025-01-01"}, admin)
    await _post(legal, "/publicity-events", {"unit_id": village["id"], "held_on": day.isoformat(), "theme": "反诈", "audience": 80}, admin)
    team = await _post(legal, "/patrol-teams", {"name": "巡逻队", "unit_id": town["id"], "village_ids": [village["id"]], "formed_on": "2020-01-01"}, admin)
    for when, recovered in ((day, 30_000_000), (old, 999)):
        await _post(
            legal, "/patrols",
            {"team_id": team["id"], "unit_id": village["id"], "started_at": f"{when.isoformat()}T09:00:00+08:00", "ended_at": f"{when.isoformat()}T10:00:00+08:00",
             "route": "r", "incidents": [{"kind": "fraud", "description": "d", "recovered_fen": recovered, "losses_prevented_fen": 100}]},
            admin,
        )

    response = await legal.client.get(f"{API}/figures", params=period, headers=admin)
    assert response.status_code == 200, response.text
    figures = response.json()
    assert figures["from"] == period["from"] and figures["to"] == period["to"]
    expected = {
        "legal_consultations": 2, "legal_affairs": 1, "legal_affairs_closed": 1, "cases_registered": 4, "cases_mediated": 3,
        "disputes_mediated": 2, "cases_by_outcome": {"agreed": 2, "failed": 1}, "cases_high_risk_open": 1,
        "adviser_recovered_fen": 6_000_000, "mediation_recovered_fen": 2_500_000, "enforcement_campaigns": 1, "inspections": 1,
        "rectifications_pending": 1, "publicity_teams": 3, "publicity_events": 1, "publicity_audience": 80, "patrols": 1,
        "patrol_incidents": 1, "patrol_recovered_fen": 30_000_000, "patrol_losses_prevented_fen": 100,
    }
    assert {k: figures[k] for k in expected} == expected

    village_only = (await legal.client.get(f"{API}/figures", params={**period, "unit_id": village["id"]}, headers=admin)).json()
    assert village_only["legal_consultations"] == 2 and village_only["publicity_teams"] == 0 and village_only["enforcement_campaigns"] == 0
    all_time = (await legal.client.get(f"{API}/figures", params={"unit_id": town["id"]}, headers=admin)).json()
    assert all_time["legal_consultations"] == 3 and all_time["enforcement_campaigns"] == 2 and all_time["patrol_recovered_fen"] == 30_000_999
    assert (await legal.client.get(f"{API}/figures", params=period, headers=roles["town_admin"])).status_code == 404
    assert (await legal.client.get(f"{API}/figures", params={**period, "from": "2026-02-01", "to": "2026-01-01"}, headers=admin)).status_code == 422

    # The village moves to another town of the county: its records' figures go with it, the town's own stay.
    county_admin = identity_headers(Identity(subject="county-admin", role=Role.COUNTY_ADMIN, scope_unit_id=tree["county"]["id"]))

    async def figures_of(unit: dict) -> dict:
        return (await legal.client.get(f"{API}/figures", params={**period, "unit_id": unit["id"]}, headers=county_admin)).json()

    county_before = await figures_of(tree["county"])
    other_town = await grid_feed.unit("town", "裴介镇", tree["county"])
    moved_path = f"{other_town['path']}{village['id']}/"
    await grid_feed.publish(UnitMoved(
        unit_id=village["id"], parent_id=other_town["id"], old_path=village["path"], path=moved_path, full_code=f"{other_town['full_code']}.V",
    ))

    async def moved() -> bool:
        unit = await legal.client.get(f"{API}/units/{village['id']}", headers=county_admin)
        return unit.json()["path"] == moved_path

    await eventually(moved)
    records = ("legal_consultations", "legal_affairs", "cases_registered", "inspections", "publicity_events", "patrols")
    arrived, left = await figures_of(other_town), await figures_of(town)
    assert {k: arrived[k] for k in records} == {k: expected[k] for k in records}
    assert arrived["publicity_teams"] == 0 and arrived["enforcement_campaigns"] == 0
    assert {k: left[k] for k in records} == dict.fromkeys(records, 0)
    assert left["publicity_teams"] == 3 and left["enforcement_campaigns"] == 1  # the town's own
    assert {k: (await figures_of(village))[k] for k in records} == {k: village_only[k] for k in records}
    assert await figures_of(tree["county"]) == county_before  # the county holds both towns
