"""legal-svc through its HTTP API and the real broker: advisers, consultations, legal affairs, mediation cases."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from harness import identity_headers
from shared.events.legal import CaseConcluded, CaseRegistered, ConsultationRecorded, LegalAffairClosed
from shared.identity import Identity, Role
from shared.ids import new_id
from shared.local_time import today

API = "/api/v1/legal"


def _case_body(unit_id: str, **extra) -> dict:  # noqa: ANN003
    body = {
        "unit_id": unit_id,
        "category": "land",
        "facts": "两户因宅基地边界发生争执",
        "points_in_dispute": "界墙位置",
        "amount_in_dispute_fen": 1_200_000,
        "parties": [
            {"role": "applicant", "name": "王小明", "id_number": "140822199001011234", "phone": "13812341234", "address": "东村3组"},
            {"role": "respondent", "name": "李大壮", "phone": "13900001111"},
        ],
    }
    body.update(extra)
    return body


async def _adviser(legal, tree, roles) -> dict:  # noqa: ANN001
    response = await legal.client.post(
        f"{API}/advisers", json={"name": "赵律师", "firm": "夏县某律师事务所", "unit_id": tree["town"]["id"]}, headers=roles["town_admin"]
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_advisers_are_assigned_to_villages_with_duty_days(legal, tree, roles):
    adviser = await _adviser(legal, tree, roles)
    monday = date(2026, 3, 2)
    body = {"unit_id": tree["village"]["id"], "starts_on": "2026-01-01", "duty_weekdays": [1, 3]}
    created = await legal.client.post(f"{API}/advisers/{adviser['id']}/assignments", json=body, headers=roles["town_admin"])
    assert created.status_code == 201, created.text
    assert created.json()["duty_weekdays"] == [1, 3]
    assert created.json()["unit_name"] == "东村"

    again = await legal.client.post(
        f"{API}/advisers/{adviser['id']}/assignments", json={**body, "starts_on": "2026-02-01"}, headers=roles["town_admin"]
    )
    assert again.status_code == 409 and again.json()["code"] == "overlapping_assignment"
    at_town = await legal.client.post(
        f"{API}/advisers/{adviser['id']}/assignments", json={**body, "unit_id": tree["town"]["id"]}, headers=roles["town_admin"]
    )
    assert at_town.status_code == 422 and at_town.json()["code"] == "invalid_level"
    by_worker = await legal.client.post(f"{API}/advisers", json={"name": "x", "firm": "y", "unit_id": tree["village"]["id"]}, headers=roles["grid_worker"])
    assert by_worker.status_code == 403

    async def on_duty(day: date) -> list[str]:
        response = await legal.client.get(
            f"{API}/adviser-assignments", params={"on_duty": day.isoformat(), "under": tree["village"]["id"]}, headers=roles["secretary"]
        )
        assert response.status_code == 200, response.text
        return [a["adviser_id"] for a in response.json()["items"]]

    assert adviser["id"] in await on_duty(monday)
    assert adviser["id"] not in await on_duty(monday + timedelta(days=1))
    ended = await legal.client.post(f"{API}/adviser-assignments/{created.json()['id']}/end", json={"ends_on": "2026-02-28"}, headers=roles["town_admin"])
    assert ended.status_code == 200 and ended.json()["ends_on"] == "2026-02-28"
    assert adviser["id"] not in await on_duty(monday)


async def test_consultations_mask_the_asker_and_are_published_without_them(legal, tree, roles, legal_events):
    adviser = await _adviser(legal, tree, roles)
    body = {
        "adviser_id": adviser["id"], "unit_id": tree["village"]["id"], "asked_on": "2026-03-03", "asker_name": "张三丰",
        "asker_phone": "13812345678", "category": "labour", "question": "欠薪怎么办", "answer": "可申请劳动仲裁", "follow_up_needed": True,
    }
    created = await legal.client.post(f"{API}/consultations", json=body, headers={**roles["secretary"], "Idempotency-Key": "c-1"})
    assert created.status_code == 201, created.text
    consultation = created.json()
    assert consultation["asker_name"] == "张**" and consultation["asker_phone"] == "138****5678" and consultation["masked"]
    replay = await legal.client.post(f"{API}/consultations", json=body, headers={**roles["secretary"], "Idempotency-Key": "c-1"})
    assert replay.json()["id"] == consultation["id"]

    listed = await legal.client.get(f"{API}/consultations", params={"under": tree["village"]["id"], "from": "2026-03-01", "to": "2026-03-31"}, headers=roles["town_admin"])
    assert [c["id"] for c in listed.json()["items"]] == [consultation["id"]]
    assert listed.json()["items"][0]["asker_name"] == "张**"

    full = await legal.client.get(f"{API}/consultations/{consultation['id']}", headers=roles["mediator"])
    assert full.json()["asker_name"] == "张三丰" and full.json()["asker_phone"] == "13812345678" and not full.json()["masked"]
    masked = await legal.client.get(f"{API}/consultations/{consultation['id']}", headers=roles["grid_worker"])
    assert masked.status_code == 200 and masked.json()["asker_name"] == "张**"
    hidden = await legal.client.get(f"{API}/consultations/{consultation['id']}", headers=roles["other_secretary"])
    assert hidden.status_code == 404

    exported = await legal.client.get(f"{API}/exports/consultations.csv", params={"from": "2026-03-03", "to": "2026-03-03"}, headers=roles["town_admin"])
    assert consultation["id"] in exported.text and "张**" in exported.text and "138****5678" in exported.text
    assert "张三丰" not in exported.text and "13812345678" not in exported.text
    pending = await legal.client.get(f"{API}/consultations", params={"follow_up_pending": True}, headers=roles["town_admin"])
    assert consultation["id"] in [c["id"] for c in pending.json()["items"]]
    followed = await legal.client.post(
        f"{API}/consultations/{consultation['id']}/follow-up", json={"followed_up_on": "2026-03-10", "note": "已申请仲裁"}, headers=roles["secretary"]
    )
    assert followed.status_code == 200 and followed.json()["followed_up_on"] == "2026-03-10"

    event = await legal_events.find(ConsultationRecorded, consultation_id=consultation["id"])
    assert event["adviser_id"] == adviser["id"] and event["category"] == "labour"
    assert event["unit_path"] == tree["village"]["path"] and event["occurred_on"] == "2026-03-03"
    assert "张三丰" not in str(event) and "13812345678" not in str(event)
    assert legal_events.count(ConsultationRecorded, consultation_id=consultation["id"]) == 1

    readonly = await legal.client.post(f"{API}/consultations", json=body, headers=roles["readonly_key"])
    assert readonly.status_code == 403
    unknown = await legal.client.post(f"{API}/consultations", json={**body, "adviser_id": "X" * 26}, headers=roles["secretary"])
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_adviser"


async def test_legal_affairs_close_once_with_outcome_and_recovered_amount(legal, tree, roles, legal_events):
    adviser = await _adviser(legal, tree, roles)
    opened = await legal.client.post(
        f"{API}/legal-affairs",
        json={"adviser_id": adviser["id"], "unit_id": tree["village"]["id"], "kind": "contract_review", "title": "村集体土地流转合同审查", "opened_on": "2026-04-01"},
        headers=roles["secretary"],
    )
    assert opened.status_code == 201, opened.text
    affair = opened.json()
    assert affair["status"] == "open"
    close = {"outcome": "修改三处条款后签订", "closed_on": "2026-04-05", "recovered_fen": 1_500_000}
    closed = await legal.client.post(f"{API}/legal-affairs/{affair['id']}/close", json=close, headers=roles["secretary"])
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["recovered_fen"] == 1_500_000
    twice = await legal.client.post(f"{API}/legal-affairs/{affair['id']}/close", json=close, headers=roles["secretary"])
    assert twice.status_code == 409
    early = await legal.client.post(f"{API}/legal-affairs", json={**opened.json(), "opened_on": "2026-04-01"} | {"kind": "other"}, headers=roles["secretary"])
    assert early.status_code == 201
    bad = await legal.client.post(f"{API}/legal-affairs/{early.json()['id']}/close", json={**close, "closed_on": "2026-03-01"}, headers=roles["secretary"])
    assert bad.status_code == 422
    float_money = await legal.client.post(f"{API}/legal-affairs/{early.json()['id']}/close", json={**close, "recovered_fen": 10.5}, headers=roles["secretary"])
    assert float_money.status_code == 422

    event = await legal_events.find(LegalAffairClosed, affair_id=affair["id"])
    assert event["kind"] == "contract_review" and event["closed_on"] == "2026-04-05" and event["adviser_id"] == adviser["id"]
    listed = await legal.client.get(f"{API}/legal-affairs", params={"status": "closed", "under": tree["town"]["id"]}, headers=roles["town_admin"])
    assert affair["id"] in [a["id"] for a in listed.json()["items"]]
    outside = await legal.client.get(f"{API}/legal-affairs/{affair['id']}", headers=roles["other_town_admin"])
    assert outside.status_code == 404


async def test_case_lifecycle_publishes_mediators_with_party_membership(legal, tree, roles, legal_events, grid_feed):
    adviser = await _adviser(legal, tree, roles)
    member_person, former_person = "P" + "1" * 25, "P" + "2" * 25
    await grid_feed.member_joined(member_person, "党员志愿者", tree["village"], date(2010, 7, 1))
    former = await grid_feed.member_joined(former_person, "已转出党员", tree["village"], date(2012, 7, 1))
    await grid_feed.member_left(former, former_person, date(2020, 1, 1))

    registered = await legal.client.post(f"{API}/cases", json=_case_body(tree["village"]["id"]), headers=roles["mediator"])
    assert registered.status_code == 201, registered.text
    case = registered.json()
    year = today().year
    assert case["number"].startswith(f"禹王调〔{year}〕") and case["number"].endswith("号")
    assert case["status"] == "registered" and case["view"] == "summary"
    assert [p["name"] for p in case["parties"]] == ["王**", "李**"]
    event = await legal_events.find(CaseRegistered, case_id=case["id"])
    assert event["number"] == case["number"] and event["unit_path"] == tree["village"]["path"]
    assert "王小明" not in str(event)

    url = f"{API}/cases/{case['id']}"
    assert (await legal.client.post(f"{url}/start-mediation", headers=roles["mediator"])).status_code == 409
    accepted = await legal.client.post(f"{url}/accept", json={}, headers=roles["mediator"])
    assert accepted.json()["status"] == "accepted"
    no_mediator = await legal.client.post(f"{url}/start-mediation", headers=roles["mediator"])
    assert no_mediator.status_code == 409 and no_mediator.json()["code"] == "no_mediator"
    for mediator in (
        {"name": "专职调解员甲", "affiliation": "full_time_mediator", "role": "lead", "organisation": "禹王司法所"},
        {"name": "赵律师", "affiliation": "legal_adviser", "adviser_id": adviser["id"]},
        {"name": "党员志愿者", "affiliation": "party_member_volunteer", "person_id": member_person},
        {"name": "已转出党员", "affiliation": "village_cadre", "person_id": former_person},
        {"name": "民警", "affiliation": "police_station", "organisation": "禹王派出所"},
    ):
        added = await legal.client.post(f"{url}/mediators", json=mediator, headers=roles["mediator"])
        assert added.status_code == 201, added.text
    assert (await legal.client.post(f"{url}/start-mediation", headers=roles["mediator"])).json()["status"] == "mediating"
    session = await legal.client.post(f"{url}/sessions", json={"held_on": today().isoformat(), "notes": "双方陈述，现场勘查"}, headers=roles["mediator"])
    assert session.status_code == 201
    risk = await legal.client.put(f"{url}/risk", json={"risk_level": "high", "note": "一方扬言上访"}, headers=roles["mediator"])
    assert risk.json()["risk_level"] == "high"
    flagged = await legal.client.get(f"{API}/cases", params={"risk_level": "high"}, headers=roles["town_admin"])
    assert case["id"] in [c["id"] for c in flagged.json()["items"]]

    signed = today()
    agreement = {"terms": "界墙东移0.3米，李方补偿6000元", "signed_on": signed.isoformat(), "performance_deadline": (signed + timedelta(days=10)).isoformat(), "recovered_fen": 600_000}
    agreed = await legal.client.post(f"{url}/agreement", json=agreement, headers=roles["mediator"])
    assert agreed.status_code == 200, agreed.text
    summary = agreed.json()
    assert summary["status"] == "agreed" and summary["outcome"] == "agreed" and summary["joint"]
    assert summary["judicial_confirmation_deadline"] == (signed + timedelta(days=30)).isoformat()
    assert "agreement_terms" not in summary

    concluded = await legal_events.find(CaseConcluded, case_id=case["id"])
    assert concluded["outcome"] == "agreed" and concluded["recovered_fen"] == 600_000
    members = {m["name"]: m["party_member"] for m in concluded["mediators"]}
    assert members == {"专职调解员甲": False, "赵律师": False, "党员志愿者": True, "已转出党员": False, "民警": False}
    assert {m["affiliation"] for m in concluded["mediators"]} >= {"legal_adviser", "police_station"}

    window = await legal.client.get(f"{API}/cases", params={"confirmation_window_open": True}, headers=roles["town_admin"])
    assert case["id"] in [c["id"] for c in window.json()["items"]]
    late = await legal.client.post(f"{url}/judicial-confirmation", json={"applied_on": (signed + timedelta(days=31)).isoformat()}, headers=roles["mediator"])
    assert late.status_code == 422 and late.json()["code"] == "confirmation_window_passed"
    applied = await legal.client.post(f"{url}/judicial-confirmation", json={"applied_on": (signed + timedelta(days=5)).isoformat()}, headers=roles["mediator"])
    assert applied.status_code == 200
    window = await legal.client.get(f"{API}/cases", params={"confirmation_window_open": True}, headers=roles["town_admin"])
    assert case["id"] not in [c["id"] for c in window.json()["items"]]

    follow = await legal.client.post(
        f"{url}/follow-ups", json={"visited_on": (signed + timedelta(days=12)).isoformat(), "performance": "fulfilled", "recovered_fen": 50_000}, headers=roles["mediator"]
    )
    assert follow.status_code == 201
    closed = await legal.client.post(f"{url}/close", json={"closed_on": (signed + timedelta(days=12)).isoformat()}, headers=roles["mediator"])
    assert closed.json()["status"] == "closed" and closed.json()["recovered_fen"] == 650_000
    assert (await legal.client.post(f"{url}/accept", json={}, headers=roles["mediator"])).json()["code"] == "invalid_transition"

    full = (await legal.client.get(url, headers=roles["mediator"])).json()
    assert full["view"] == "full" and full["agreement_terms"] == agreement["terms"]
    assert [s["notes"] for s in full["sessions"]] == ["双方陈述，现场勘查"]
    assert [f["performance"] for f in full["follow_ups"]] == ["fulfilled"]
    assert {m["name"]: m["party_member"] for m in full["mediators"]}["党员志愿者"] is True


async def test_failed_mediation_is_referred_and_concluded(legal, tree, roles, legal_events):
    case = (await legal.client.post(f"{API}/cases", json=_case_body(tree["other_village"]["id"], category="debt"), headers=roles["town_admin"])).json()
    url = f"{API}/cases/{case['id']}"
    await legal.client.post(f"{url}/accept", json={}, headers=roles["town_admin"])
    await legal.client.post(f"{url}/mediators", json={"name": "村干部", "affiliation": "village_cadre"}, headers=roles["town_admin"])
    await legal.client.post(f"{url}/start-mediation", headers=roles["town_admin"])
    failed = await legal.client.post(f"{url}/failure", json={"reason": "双方分歧过大", "referred_to": "litigation", "concluded_on": today().isoformat()}, headers=roles["town_admin"])
    assert failed.status_code == 200 and failed.json()["outcome"] == "failed" and not failed.json()["joint"]
    event = await legal_events.find(CaseConcluded, case_id=case["id"])
    assert event["outcome"] == "failed" and [m["affiliation"] for m in event["mediators"]] == ["village_cadre"]
    no_follow = await legal.client.post(f"{url}/follow-ups", json={"visited_on": today().isoformat(), "performance": "fulfilled"}, headers=roles["town_admin"])
    assert no_follow.status_code == 409
    by_outcome = await legal.client.get(f"{API}/cases", params={"outcome": "failed", "category": "debt"}, headers=roles["town_admin"])
    assert [c["id"] for c in by_outcome.json()["items"]] == [case["id"]]


async def test_full_case_reads_are_audited_and_everyone_else_sees_masked_summaries(legal, tree, roles):
    case = (await legal.client.post(f"{API}/cases", json=_case_body(tree["village"]["id"]), headers=roles["secretary"])).json()
    url = f"{API}/cases/{case['id']}"

    async def reads() -> list[dict]:
        response = await legal.client.get(f"{API}/audit/case-reads", params={"case_id": case["id"]}, headers=roles["auditor"])
        assert response.status_code == 200, response.text
        return response.json()["items"]

    assert await reads() == []
    for who in ("grid_worker", "party_member", "auditor"):
        masked = await legal.client.get(url, headers=roles[who])
        assert masked.status_code == 200, masked.text
        body = masked.json()
        assert body["view"] == "summary"
        assert "facts" not in body and "points_in_dispute" not in body
        assert [p["name"] for p in body["parties"]] == ["王**", "李**"]
        assert "140822199001011234" not in masked.text and "13812341234" not in masked.text and "王小明" not in masked.text
    listed = await legal.client.get(f"{API}/cases", params={"under": tree["village"]["id"]}, headers=roles["secretary"])
    assert "王小明" not in listed.text and "140822199001011234" not in listed.text and "界墙位置" not in listed.text
    exported = await legal.client.get(f"{API}/exports/cases.csv", params={"under": tree["village"]["id"]}, headers=roles["mediator"])
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert case["number"] in exported.text and "applicant:王**" in exported.text
    assert "王小明" not in exported.text and "140822199001011234" not in exported.text and "13812341234" not in exported.text
    assert await reads() == []

    full = await legal.client.get(url, headers={**roles["mediator"], "X-Request-Id": "req-audit-1"})
    assert full.json()["view"] == "full"
    assert full.json()["parties"][0] == {"role": "applicant", "name": "王小明", "id_number": "140822199001011234", "phone": "13812341234", "address": "东村3组"}
    await legal.client.get(url, headers=roles["secretary"])
    entries = await reads()
    assert [(e["reader"], e["reader_role"]) for e in entries] == [("secretary-1", "village_secretary"), ("mediator-1", "mediator")]
    assert entries[1]["request_id"] == "req-audit-1" and entries[1]["case_number"] == case["number"]

    assert (await legal.client.get(url, headers=roles["other_secretary"])).status_code == 404
    assert (await legal.client.get(url, headers=roles["other_town_admin"])).status_code == 404
    assert (await legal.client.get(f"{API}/audit/case-reads", headers=roles["mediator"])).status_code == 403
    other_auditor = await legal.client.get(
        f"{API}/audit/case-reads", params={"case_id": case["id"]},
        headers=identity_headers(_identity_of("auditor-2", "auditor", tree["other_town"]["id"])),
    )
    assert other_auditor.json()["items"] == []
    by_worker = await legal.client.post(f"{API}/cases", json=_case_body(tree["village"]["id"]), headers=roles["grid_worker"])
    assert by_worker.status_code == 403
    assert (await legal.client.post(f"{url}/accept", json={}, headers=roles["grid_worker"])).status_code == 403


def _identity_of(subject: str, role: str, unit_id: str) -> Identity:
    return Identity(subject=subject, role=Role(role), scope_unit_id=unit_id)


async def test_case_numbers_are_sequential_per_town_and_year_under_concurrency(legal, tree, grid_feed, roles):
    town = await grid_feed.unit("town", "裴介镇", tree["county"])
    village = await grid_feed.unit("village", "裴村", town)
    county_admin = identity_headers(_identity_of("county-1", "county_admin", tree["county"]["id"]))
    responses = await asyncio.gather(
        *(legal.client.post(f"{API}/cases", json=_case_body(village["id"]), headers=county_admin) for _ in range(8))
    )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    year = today().year
    assert sorted(r.json()["number"] for r in responses) == sorted(f"裴介调〔{year}〕{n}号" for n in range(1, 9))
    retried = [
        await legal.client.post(f"{API}/cases", json=_case_body(village["id"]), headers={**county_admin, "Idempotency-Key": "case-9"})
        for _ in range(2)
    ]
    assert retried[0].json()["number"] == retried[1].json()["number"] == f"裴介调〔{year}〕9号"
    assert retried[1].headers.get("idempotent-replayed") == "true"
    at_county = await legal.client.post(f"{API}/cases", json=_case_body(tree["county"]["id"]), headers=county_admin)
    assert at_county.status_code == 422 and at_county.json()["code"] == "invalid_level"
    one_party = await legal.client.post(f"{API}/cases", json=_case_body(village["id"], parties=[_case_body("x")["parties"][0]]), headers=county_admin)
    assert one_party.status_code == 422
    bad_id = _case_body(village["id"])
    bad_id["parties"][0]["id_number"] = "12345"
    assert (await legal.client.post(f"{API}/cases", json=bad_id, headers=county_admin)).status_code == 422

    listed = await legal.client.get(f"{API}/cases", params={"under": town["id"], "per_page": 5}, headers=county_admin)
    assert listed.json()["total"] == 9 and len(listed.json()["items"]) == 5
    second = await legal.client.get(f"{API}/cases", params={"under": town["id"], "per_page": 5, "page": 2}, headers=county_admin)
    assert len(second.json()["items"]) == 4
    seen = [c["number"] for c in listed.json()["items"]] + [c["number"] for c in second.json()["items"]]
    assert len(set(seen)) == 9


async def test_cases_list_filters_by_several_statuses_at_once(legal, tree, grid_feed):
    town = await grid_feed.unit("town", "庙前镇", tree["county"])
    village = await grid_feed.unit("village", "庙前村", town)
    admin = identity_headers(_identity_of("county-2", "county_admin", tree["county"]["id"]))
    registered, accepted, mediating, failed = [
        (await legal.client.post(f"{API}/cases", json=_case_body(village["id"]), headers=admin)).json() for _ in range(4)
    ]
    for case in (accepted, mediating, failed):
        url = f"{API}/cases/{case['id']}"
        assert (await legal.client.post(f"{url}/accept", json={}, headers=admin)).status_code == 200
    for case in (mediating, failed):
        url = f"{API}/cases/{case['id']}"
        await legal.client.post(f"{url}/mediators", json={"name": "村干部", "affiliation": "village_cadre"}, headers=admin)
        assert (await legal.client.post(f"{url}/start-mediation", headers=admin)).json()["status"] == "mediating"
    failure = {"reason": "双方分歧过大", "referred_to": "litigation", "concluded_on": today().isoformat()}
    concluded = await legal.client.post(f"{API}/cases/{failed['id']}/failure", json=failure, headers=admin)
    assert concluded.json()["status"] == "failed"

    async def listed(*statuses: str, **params) -> dict:  # noqa: ANN003
        response = await legal.client.get(
            f"{API}/cases", params=[("under", town["id"]), *(("status", s) for s in statuses), *params.items()], headers=admin
        )
        assert response.status_code == 200, response.text
        return response.json()

    in_progress = await listed("registered", "accepted", "mediating")
    assert in_progress["total"] == 3
    # Newest number first across the statuses, as for a single status.
    assert [c["id"] for c in in_progress["items"]] == [mediating["id"], accepted["id"], registered["id"]]
    assert {c["status"] for c in in_progress["items"]} == {"registered", "accepted", "mediating"}
    two = await listed("registered", "failed", per_page=1)
    assert two["total"] == 2 and [c["id"] for c in two["items"]] == [failed["id"]]
    assert [c["id"] for c in (await listed("accepted"))["items"]] == [accepted["id"]]
    assert (await listed())["total"] == 4
    unknown = await legal.client.get(f"{API}/cases", params=[("status", "registered"), ("status", "pending")], headers=admin)
    assert unknown.status_code == 422
    # An exact number, and the cases a registry person mediated.
    assert [c["id"] for c in (await listed(number=accepted["number"]))["items"]] == [accepted["id"]]
    person_id = new_id()
    mediator = {"name": "调解员", "affiliation": "village_cadre", "person_id": person_id}
    assert (await legal.client.post(f"{API}/cases/{mediating['id']}/mediators", json=mediator, headers=admin)).status_code in (200, 201)
    assert [c["id"] for c in (await listed(mediator_person_id=person_id))["items"]] == [mediating["id"]]
    assert [c["id"] for c in (await listed("registered", mediator_person_id=person_id))["items"]] == []
