"""Deadlines in Asia/Shanghai, the overdue sweep and escalation, rates, monthly demand and plans,
lectures, activities and the dashboard figures — on a clock the tests move by hand."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from dispatch.world import ADMIN, known, staff
from typer.testing import CliRunner

from dispatch_svc.__main__ import cli
from harness import eventually
from shared.events.dispatch import ActivityHeld, LectureHeld, OrderDispatched, OrderOverdue
from shared.identity import Role

BASE = "/api/v1/dispatch"
# The background job runs at start-up and then sleeps; the tests sweep by hand on the controllable clock.
OVERDUE_SWEEP_INTERVAL_S = 3600


@pytest.fixture(scope="module")
async def kinds(client) -> dict[str, dict]:
    """A quick repair (4 h to respond, due the day after) and a training."""
    made = {}
    for name, body in {
        "repair": {"name": "家电维修", "category": "repairs", "response_hours": 4, "completion_days": 1},
        "training": {"name": "锣鼓培训", "category": "culture", "route_to": "provider", "response_hours": 48, "completion_days": 30},
    }.items():
        response = await client.post(f"{BASE}/service-types", json={"code": f"{name}{uuid.uuid4().hex[:6]}", **body}, headers=ADMIN)
        assert response.status_code == 201, response.text
        made[name] = response.json()
    return made


async def _order(client, kind: dict, unit, **extra) -> dict:
    response = await client.post(
        f"{BASE}/orders", json={"service_type_id": kind["id"], "unit_id": unit.id, "description": "需要服务", **extra}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _act(client, order_id: str, action: str, body: dict | None = None) -> dict:
    response = await client.post(f"{BASE}/orders/{order_id}/{action}", json=body, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def _sweep(client, **body) -> dict:
    response = await client.post(f"{BASE}/overdue/sweep", json=body or None, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_deadlines_are_reckoned_in_shanghai_and_stored_in_utc(client, kinds, tree, clock):
    # 2026-03-31 23:30 in Shanghai is still March there, 15:30 UTC.
    clock.set(datetime(2026, 3, 31, 15, 30, tzinfo=UTC))
    order = await _order(client, kinds["repair"], tree.micro_b)
    assert _utc(order["submitted_at"]) == datetime(2026, 3, 31, 15, 30, tzinfo=UTC)
    assert _utc(order["response_due_at"]) == datetime(2026, 3, 31, 19, 30, tzinfo=UTC)
    # Completion: the day after the Shanghai submission day ends at 2026-04-02 00:00 Shanghai = 04-01 16:00 UTC.
    assert _utc(order["completion_due_at"]) == datetime(2026, 4, 1, 16, 0, tzinfo=UTC)
    assert order["submitted_at"].endswith(("Z", "+00:00"))
    assert order["number"].startswith("20260331-")

    # One hour later it is April 1st in Shanghai: the order belongs to April.
    clock.set(datetime(2026, 3, 31, 16, 30, tzinfo=UTC))
    april = await _order(client, kinds["repair"], tree.micro_b)
    assert april["number"].startswith("20260401-")
    assert _utc(april["completion_due_at"]) == datetime(2026, 4, 2, 16, 0, tzinfo=UTC)
    in_april = (await client.get(f"{BASE}/orders", params={"month": "2026-04", "under": tree.micro_b.id}, headers=ADMIN)).json()
    in_march = (await client.get(f"{BASE}/orders", params={"month": "2026-03", "under": tree.micro_b.id}, headers=ADMIN)).json()
    assert [o["id"] for o in in_april["items"]] == [april["id"]]
    assert [o["id"] for o in in_march["items"]] == [order["id"]]
    # Cancel both so the sweep tests below start from a clean slate in this unit.
    for o in (order, april):
        await _act(client, o["id"], "cancel", {"reason": "测试"})


async def test_overdue_orders_are_flagged_and_escalated_village_then_town(client, kinds, tree, clock, tap, registry):
    clock.set(datetime(2026, 5, 6, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai
    ignored = await _order(client, kinds["repair"], tree.micro_a1, description="没人受理")
    slow = await _order(client, kinds["repair"], tree.micro_a1, description="受理了但没办完")
    quick = await _order(client, kinds["repair"], tree.micro_a1, description="按时办结")
    for order in (slow, quick):
        await _act(client, order["id"], "accept")
        await _act(client, order["id"], "dispatch", {"assignee_person_id": registry["helper"]})
        await _act(client, order["id"], "start")
    await _act(client, quick["id"], "complete")

    clock.advance(timedelta(hours=3))
    early = await _sweep(client)
    assert early["response_overdue"] == [] and early["completion_overdue"] == []

    clock.advance(timedelta(hours=2))  # 5 h after submission: the 4 h response clock ran out
    swept = await _sweep(client)
    assert swept["response_overdue"] == [ignored["id"]]
    flagged = (await client.get(f"{BASE}/orders/{ignored['id']}", headers=ADMIN)).json()
    assert flagged["response_overdue"] is True and flagged["escalation"] == "village"
    assert flagged["escalated_unit_id"] == tree.village_a.id
    assert flagged["transitions"][-1]["action"] == "escalate"
    assert (await _sweep(client))["response_overdue"] == []  # flagged once only

    # Completion is due at the end of the next Shanghai day (2026-05-07 24:00 = 05-07 16:00 UTC).
    swept = await _sweep(client, as_of="2026-05-07T16:00:00+00:00")
    assert set(swept["completion_overdue"]) == {ignored["id"], slow["id"]}
    slow_now = (await client.get(f"{BASE}/orders/{slow['id']}", headers=ADMIN)).json()
    assert slow_now["completion_overdue"] is True and slow_now["escalation"] == "village"
    quick_now = (await client.get(f"{BASE}/orders/{quick['id']}", headers=ADMIN)).json()
    assert quick_now["completion_overdue"] is False and quick_now["escalation"] == "none"

    # Still open 48 h after the village escalation: the town.
    swept = await _sweep(client, as_of="2026-05-09T16:00:00+00:00")
    assert set(swept["escalated_to_town"]) == {ignored["id"], slow["id"]}
    town = (await client.get(f"{BASE}/orders/{slow['id']}", headers=ADMIN)).json()
    assert town["escalation"] == "town" and town["escalated_unit_id"] == tree.town.id

    listed = (await client.get(f"{BASE}/orders", params={"overdue": "true", "under": tree.micro_a1.id}, headers=ADMIN)).json()
    assert {o["id"] for o in listed["items"]} == {ignored["id"], slow["id"]}
    by_escalation = (await client.get(f"{BASE}/orders", params={"escalation": "town", "under": tree.village_a.id}, headers=ADMIN)).json()
    assert {o["id"] for o in by_escalation["items"]} == {ignored["id"], slow["id"]}

    events = await tap.wait_for(OrderOverdue, lambda e: e.order_id in (ignored["id"], slow["id"]), count=4)
    assert sorted((e.order_id == ignored["id"], e.clock, e.escalated_to) for e in events) == sorted(
        [(True, "response", "village"), (True, "completion", "town"), (False, "completion", "village"), (False, "completion", "town")]
    )
    assert all(e.unit_path == tree.micro_a1.path for e in events)

    resident = staff(Role.RESIDENT, tree.micro_a1)
    assert (await client.post(f"{BASE}/overdue/sweep", headers=resident)).status_code == 403


@pytest.fixture(scope="module")
async def registry(feed, client, tree):
    """People of the registry for this module: a helper and two lecturers (one a party member)."""
    helper = await feed.person("周师傅", None, tree.village_a)
    lecturer = await feed.person("陈老师", None, tree.village_a)
    await feed.member(lecturer, "陈老师", tree.village_a)
    elder = await feed.person("刘老汉", None, tree.village_a)
    for person in (helper, lecturer, elder):
        await eventually(lambda p=person: known(client, f"{BASE}/roster/people/{p}"))
    return {"helper": helper, "lecturer": lecturer, "elder": elder}


async def test_the_three_rates_per_unit_and_month(client, kinds, tree, clock, registry):
    clock.set(datetime(2026, 6, 2, 1, 0, tzinfo=UTC))
    in_time = await _order(client, kinds["repair"], tree.micro_a2)
    late = await _order(client, kinds["repair"], tree.micro_a2)
    cancelled = await _order(client, kinds["repair"], tree.micro_a2)
    untouched = await _order(client, kinds["repair"], tree.micro_a2)
    assert untouched["status"] == "submitted"
    await _act(client, in_time["id"], "accept")
    await _act(client, cancelled["id"], "cancel", {"reason": "不需要了"})
    clock.advance(timedelta(hours=5))  # past the 4 h response deadline
    await _act(client, late["id"], "accept")
    for order, stars in ((in_time, 5), (late, 3)):
        await _act(client, order["id"], "dispatch", {"assignee_person_id": registry["helper"]})
        await _act(client, order["id"], "start")
        await _act(client, order["id"], "complete")
        await _act(client, order["id"], "evaluate", {"satisfaction": stars})

    report = (await client.get(f"{BASE}/rates", params={"unit_id": tree.micro_a2.id, "month": "2026-06"}, headers=ADMIN)).json()
    assert report["submitted"] == 4 and report["accepted_in_time"] == 1 and report["cancelled"] == 1
    assert report["completed"] == 2 and report["evaluations"] == 2 and report["satisfied"] == 1
    assert report["response_rate"] == 0.25
    assert report["resolution_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["satisfaction_rate"] == 0.5
    parent = (await client.get(f"{BASE}/rates", params={"unit_id": tree.small_a.id, "month": "2026-06"}, headers=ADMIN)).json()
    child = next(c for c in parent["children"] if c["unit_id"] == tree.micro_a2.id)
    assert child["response_rate"] == 0.25 and child["unit_name"] == "二组"
    empty = (await client.get(f"{BASE}/rates", params={"unit_id": tree.micro_a2.id, "month": "2026-07"}, headers=ADMIN)).json()
    assert empty["submitted"] == 0 and empty["response_rate"] is None and empty["satisfaction_rate"] is None
    bad = await client.get(f"{BASE}/rates", params={"unit_id": tree.micro_a2.id, "month": "2026-13"}, headers=ADMIN)
    assert bad.status_code == 422


async def test_monthly_demand_becomes_a_plan_whose_execution_dispatches_its_orders(client, kinds, tree, clock, tap):
    clock.set(datetime(2026, 7, 3, 2, 0, tzinfo=UTC))
    drums = await client.post(
        f"{BASE}/providers",
        json={"name": "锣鼓协会志愿队", "kind": "team", "area_unit_id": tree.town.id, "service_type_ids": [kinds["training"]["id"]], "capacity_per_month": 1},
        headers=ADMIN,
    )
    assert drums.status_code == 201
    drums = drums.json()
    in_a = [await _order(client, kinds["training"], unit) for unit in (tree.micro_a1, tree.micro_a1, tree.micro_a2)]
    in_b = await _order(client, kinds["training"], tree.micro_b)
    repair = await _order(client, kinds["repair"], tree.micro_a1)

    demand = (await client.get(f"{BASE}/demand", params={"unit_id": tree.town.id, "month": "2026-07"}, headers=ADMIN)).json()
    assert demand["orders"] == 5 and demand["awaiting_dispatch"] == 5
    groups = {(g["service_type_code"], g["village_name"]): g for g in demand["groups"]}
    assert groups[(kinds["training"]["code"], "禹王村")]["orders"] == 3
    assert set(groups[(kinds["training"]["code"], "禹王村")]["awaiting_order_ids"]) == {o["id"] for o in in_a}
    assert groups[(kinds["training"]["code"], "青龙村")]["orders"] == 1
    assert groups[(kinds["repair"]["code"], "禹王村")]["orders"] == 1
    assert demand["groups"][0]["orders"] == 3  # largest first

    plan = await client.post(f"{BASE}/plans", json={"unit_id": tree.village_a.id, "month": "2026-07", "title": "七月锣鼓培训"}, headers=ADMIN)
    assert plan.status_code == 201
    plan = plan.json()
    outside = await client.post(
        f"{BASE}/plans/{plan['id']}/items",
        json={"kind": "session", "service_type_id": kinds["training"]["id"], "provider_id": drums["id"], "order_ids": [in_b["id"]], "session_title": "培训"},
        headers=ADMIN,
    )
    assert outside.status_code == 422 and outside.json()["code"] == "order_outside_plan"
    wrong_type = await client.post(
        f"{BASE}/plans/{plan['id']}/items",
        json={"service_type_id": kinds["training"]["id"], "provider_id": drums["id"], "order_ids": [repair["id"]]},
        headers=ADMIN,
    )
    assert wrong_type.status_code == 422 and wrong_type.json()["code"] == "wrong_service_type"
    # Three orders as a batch would need three dispatches; the team has one a month.
    batch = await client.post(
        f"{BASE}/plans/{plan['id']}/items",
        json={"kind": "batch", "service_type_id": kinds["training"]["id"], "provider_id": drums["id"], "order_ids": [o["id"] for o in in_a]},
        headers=ADMIN,
    )
    assert batch.status_code == 201
    too_much = await client.post(f"{BASE}/plans/{plan['id']}/execute", headers=ADMIN)
    assert too_much.status_code == 409 and too_much.json()["code"] == "capacity_exhausted"
    assert (await client.delete(f"{BASE}/plans/{plan['id']}/items/{batch.json()['id']}", headers=ADMIN)).status_code == 204
    # One group session serves all three and uses one dispatch.
    session = await client.post(
        f"{BASE}/plans/{plan['id']}/items",
        json={"kind": "session", "service_type_id": kinds["training"]["id"], "provider_id": drums["id"], "order_ids": [o["id"] for o in in_a],
              "session_title": "锣鼓培训（禹王村）", "session_at": "2026-07-20T19:30:00+08:00", "session_place": "村文化广场"},
        headers=ADMIN,
    )
    assert session.status_code == 201, session.text

    executed = await client.post(f"{BASE}/plans/{plan['id']}/execute", headers=ADMIN)
    assert executed.status_code == 200, executed.text
    assert executed.json()["status"] == "executed"
    for order in in_a:
        now = (await client.get(f"{BASE}/orders/{order['id']}", headers=ADMIN)).json()
        assert now["status"] == "dispatched" and now["provider_id"] == drums["id"] and now["plan_id"] == plan["id"]
        assert [t["action"] for t in now["transitions"]] == ["submit", "accept", "dispatch"]
    capacity = (await client.get(f"{BASE}/providers/{drums['id']}/capacity", params={"month": "2026-07"}, headers=ADMIN)).json()
    assert capacity["used"] == 1 and capacity["left"] == 0
    again = await client.post(f"{BASE}/plans/{plan['id']}/execute", headers=ADMIN)
    assert again.status_code == 409 and again.json()["code"] == "plan_not_draft"
    listed = (await client.get(f"{BASE}/plans", params={"month": "2026-07", "status": "executed"}, headers=ADMIN)).json()
    assert [p["id"] for p in listed["items"]] == [plan["id"]]
    planned = (await client.get(f"{BASE}/orders", params={"plan_id": plan["id"]}, headers=ADMIN)).json()
    assert planned["total"] == 3
    await tap.wait_for(OrderDispatched, lambda e: e.order_id in {o["id"] for o in in_a}, count=3)


async def _lecture_list_agrees_with_reads(client, tree, registry, made: list[dict]) -> None:
    """Each filter of the lecture list, and a caller's scope, answer the whole list filtered; a page counts
    lectures, not lecturers; every item is what the single read answers (its lecturers in the order given)."""
    everything = (await client.get(f"{BASE}/lectures", params={"per_page": 200}, headers=ADMIN)).json()
    assert everything["total"] == len(everything["items"]) >= len(made)
    newest = [(lec["held_at"], lec["id"]) for lec in everything["items"]]
    assert newest == sorted(newest, reverse=True)
    for lecture in made:
        read = (await client.get(f"{BASE}/lectures/{lecture['id']}", headers=ADMIN)).json()
        assert read in everything["items"] and read["lecturers"] == lecture["lecturers"]
    cases = [
        ({"under": tree.village_a.id}, lambda lec: lec["unit_path"].startswith(tree.village_a.path)),
        ({"under": tree.micro_a1.id}, lambda lec: lec["unit_path"].startswith(tree.micro_a1.path)),
        ({"from": "2026-08-01"}, lambda lec: lec["held_on"] >= "2026-08-01"),
        ({"to": "2026-08-10"}, lambda lec: lec["held_on"] <= "2026-08-10"),
        ({"from": "2026-08-01", "to": "2026-08-10", "lecturer_person_id": registry["elder"]},
         lambda lec: "2026-08-01" <= lec["held_on"] <= "2026-08-10" and registry["elder"] in [p["person_id"] for p in lec["lecturers"]]),
    ]
    for params, kept in cases:
        answer = (await client.get(f"{BASE}/lectures", params={**params, "per_page": 200}, headers=ADMIN)).json()
        expected = [lec for lec in everything["items"] if kept(lec)]
        assert answer["items"] == expected and answer["total"] == len(expected), params
    in_b = (await client.get(f"{BASE}/lectures", params={"per_page": 200}, headers=staff(Role.VILLAGE_SECRETARY, tree.village_b))).json()
    assert in_b["items"] == [lec for lec in everything["items"] if lec["unit_path"].startswith(tree.village_b.path)] != []
    nowhere = (await client.get(f"{BASE}/lectures", headers=staff(Role.VILLAGE_SECRETARY, None))).json()
    assert nowhere == {"items": [], "total": 0, "page": 1, "per_page": 50}
    outside = await client.get(f"{BASE}/lectures", params={"under": tree.village_a.id}, headers=staff(Role.VILLAGE_SECRETARY, tree.village_b))
    assert outside.status_code == 404
    # One lecture per page, the two-lecturer one included once: the pages walk the whole list.
    walked = []
    for number in range(1, everything["total"] + 2):
        page = (await client.get(f"{BASE}/lectures", params={"page": number, "per_page": 1}, headers=ADMIN)).json()
        assert page["total"] == everything["total"]
        walked += page["items"]
    assert walked == everything["items"]
    assert [p["name"] for p in next(lec for lec in walked if lec["id"] == made[1]["id"])["lecturers"]] == ["陈老师", "刘老汉"]


async def test_lectures_activities_and_the_dashboard_figures(client, kinds, tree, clock, tap, registry):
    clock.set(datetime(2026, 8, 20, 12, 0, tzinfo=UTC))
    lectures = [
        {"unit_id": tree.grid_a.id, "theme": "防范电信诈骗", "place": "田间地头", "held_at": "2026-08-03T20:00:00+08:00",
         "lecturer_person_ids": [registry["lecturer"]], "attendees": 35},
        {"unit_id": tree.micro_a1.id, "theme": "垃圾分类", "place": "生产车间", "held_at": "2026-08-10T12:00:00+08:00",
         "lecturer_person_ids": [registry["lecturer"], registry["elder"]], "attendees": 3,
         "roster": [registry["helper"], registry["elder"], registry["helper"]]},
        {"unit_id": tree.village_b.id, "theme": "乡风文明", "held_at": "2026-08-11T09:00:00+08:00",
         "lecturer_person_ids": [registry["elder"]], "attendees": 50},
        # 2026-07-31 23:30 in Shanghai is still July: outside an August period.
        {"unit_id": tree.village_a.id, "theme": "七月的课", "held_at": "2026-07-31T15:30:00+00:00",
         "lecturer_person_ids": [registry["elder"]], "attendees": 1000},
    ]
    made = []
    for body in lectures:
        response = await client.post(f"{BASE}/lectures", json=body, headers=staff(Role.TOWN_ADMIN, tree.town))
        assert response.status_code == 201, response.text
        made.append(response.json())
    assert [l["name"] for l in made[1]["lecturers"]] == ["陈老师", "刘老汉"]
    assert made[3]["held_on"] == "2026-07-31"
    unknown = await client.post(f"{BASE}/lectures", json={**lectures[0], "lecturer_person_ids": ["01NOTAPERSON0000000000000"]}, headers=ADMIN)
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_person"
    future = await client.post(f"{BASE}/lectures", json={**lectures[0], "held_at": "2026-09-01T09:00:00+08:00"}, headers=ADMIN)
    assert future.status_code == 422 and future.json()["code"] == "not_held_yet"
    too_few = await client.post(f"{BASE}/lectures", json={**lectures[0], "attendees": 0, "roster": [registry["helper"]]}, headers=ADMIN)
    assert too_few.status_code == 422

    summary = (await client.get(f"{BASE}/lectures/summary", params={"unit_id": tree.village_a.id, "from": "2026-08-01", "to": "2026-08-31"}, headers=ADMIN)).json()
    assert summary == {"unit_id": tree.village_a.id, "from": "2026-08-01", "to": "2026-08-31", "sessions": 2, "attendees": 38, "lecturers": 2}
    pool = (await client.get(f"{BASE}/lectures/lecturers", params={"unit_id": tree.town.id, "from": "2026-08-01", "to": "2026-08-31"}, headers=ADMIN)).json()
    assert [(p["name"], p["sessions"], p["attendees"]) for p in pool] == [("刘老汉", 2, 53), ("陈老师", 2, 38)]
    by_lecturer = (await client.get(f"{BASE}/lectures", params={"lecturer_person_id": registry["lecturer"]}, headers=ADMIN)).json()
    assert {l["id"] for l in by_lecturer["items"]} == {made[0]["id"], made[1]["id"]}
    await _lecture_list_agrees_with_reads(client, tree, registry, made)
    village_b_secretary = staff(Role.VILLAGE_SECRETARY, tree.village_b)
    assert (await client.get(f"{BASE}/lectures/{made[0]['id']}", headers=village_b_secretary)).status_code == 404
    held = await tap.wait_for(LectureHeld, lambda e: e.lecture_id == made[1]["id"])
    assert held[0].lecturer_person_ids == [registry["lecturer"], registry["elder"]] and held[0].attendees == 3
    assert held[0].theme == "垃圾分类" and held[0].held_on.isoformat() == "2026-08-10"

    for kind, title, attendees, unit in (("culture", "锣鼓表演", 120, tree.village_a), ("science", "农技培训", 40, tree.micro_a2),
                                          ("health", "义诊进村", 80, tree.village_a), ("health", "青龙义诊", 60, tree.village_b)):
        response = await client.post(
            f"{BASE}/activities", json={"kind": kind, "unit_id": unit.id, "title": title, "held_at": "2026-08-15T09:00:00+08:00", "attendees": attendees},
            headers=ADMIN,
        )
        assert response.status_code == 201, response.text
    wrong_kind = await client.post(
        f"{BASE}/activities", json={"kind": "sports", "unit_id": tree.village_a.id, "title": "x", "held_at": "2026-08-15T09:00:00+08:00", "attendees": 1},
        headers=ADMIN,
    )
    assert wrong_kind.status_code == 422
    activities = (await client.get(f"{BASE}/activities/summary", params={"unit_id": tree.village_a.id, "from": "2026-08-01", "to": "2026-08-31"}, headers=ADMIN)).json()
    assert activities["activities"] == 3 and activities["attendees"] == 240
    assert activities["by_kind"] == {"culture": {"activities": 1, "attendees": 120}, "science": {"activities": 1, "attendees": 40},
                                     "health": {"activities": 1, "attendees": 80}}
    health = (await client.get(f"{BASE}/activities", params={"kind": "health", "under": tree.town.id}, headers=ADMIN)).json()
    assert {a["title"] for a in health["items"]} == {"义诊进村", "青龙义诊"}
    (event,) = await tap.wait_for(ActivityHeld, lambda e: e.title == "农技培训")
    assert event.kind == "science" and event.attendees == 40 and event.unit_path == tree.micro_a2.path

    # Orders in August in village A: one served and rated 4, one rejected (never accepted), one still open.
    clock.set(datetime(2026, 8, 21, 1, 0, tzinfo=UTC))
    served = await _order(client, kinds["repair"], tree.micro_a1)
    refused = await _order(client, kinds["repair"], tree.micro_a1)
    await _order(client, kinds["repair"], tree.micro_a2)
    await _act(client, served["id"], "accept")
    await _act(client, served["id"], "dispatch", {"assignee_person_id": registry["helper"]})
    await _act(client, served["id"], "start")
    await _act(client, served["id"], "complete")
    await _act(client, served["id"], "evaluate", {"satisfaction": 4})
    await _act(client, refused["id"], "reject", {"reason": "不在服务范围"})

    figures = await client.get(f"{BASE}/figures", params={"unit_id": tree.village_a.id, "from": "2026-08-01", "to": "2026-08-31"}, headers=ADMIN)
    assert figures.status_code == 200, figures.text
    assert figures.json() == {
        "unit_id": tree.village_a.id, "from": "2026-08-01", "to": "2026-08-31",
        "lecture_sessions": 2, "lecture_attendees": 38, "activities": 3, "activity_attendees": 240,
        "orders": 3, "orders_completed": 1, "response_rate": pytest.approx(1 / 3, abs=1e-4),
        "resolution_rate": pytest.approx(1 / 3, abs=1e-4), "satisfaction_rate": 1.0,
    }
    backwards = await client.get(f"{BASE}/figures", params={"unit_id": tree.village_a.id, "from": "2026-08-31", "to": "2026-08-01"}, headers=ADMIN)
    assert backwards.status_code == 422
    outside = await client.get(f"{BASE}/figures", params={"unit_id": tree.village_a.id, "from": "2026-08-01", "to": "2026-08-31"}, headers=village_b_secretary)
    assert outside.status_code == 404


async def test_a_plan_is_proposed_from_demand_within_capacity(client, tree, clock):
    clock.set(datetime(2026, 10, 5, 2, 0, tzinfo=UTC))
    health = (await client.post(f"{BASE}/service-types", json={"code": f"clinic{uuid.uuid4().hex[:6]}", "name": "义诊", "category": "health",
                                                              "route_to": "provider"}, headers=ADMIN)).json()
    fix = (await client.post(f"{BASE}/service-types", json={"code": f"fix{uuid.uuid4().hex[:6]}", "name": "家电上门", "category": "repairs",
                                                           "route_to": "provider"}, headers=ADMIN)).json()
    medics = await client.post(f"{BASE}/providers", json={"name": "镇卫生院医疗队", "area_unit_id": tree.village_a.id, "service_type_ids": [health["id"]],
                                                          "capacity_per_month": 2}, headers=ADMIN)
    fixers = await client.post(f"{BASE}/providers", json={"name": "家电维修志愿队", "kind": "team", "area_unit_id": tree.town.id,
                                                          "service_type_ids": [fix["id"]], "capacity_per_month": 2}, headers=ADMIN)
    assert medics.status_code == fixers.status_code == 201
    medics, fixers = medics.json(), fixers.json()
    health_a = [await _order(client, health, unit) for unit in (tree.micro_a1, tree.micro_a2, tree.micro_a1)]
    health_b = await _order(client, health, tree.micro_b)
    fix_a = [await _order(client, fix, tree.micro_a1) for _ in range(3)]

    plan = (await client.post(f"{BASE}/plans", json={"unit_id": tree.town.id, "month": "2026-10", "title": "十月派单计划"}, headers=ADMIN)).json()
    proposal = await client.post(f"{BASE}/plans/{plan['id']}/propose", headers=ADMIN)
    assert proposal.status_code == 200, proposal.text
    proposal = proposal.json()
    items = {i["service_type_id"]: i for i in proposal["added"]}
    assert items[health["id"]]["kind"] == "session" and items[health["id"]]["provider_id"] == medics["id"]
    assert set(items[health["id"]]["order_ids"]) == {o["id"] for o in health_a}
    assert items[fix["id"]]["kind"] == "batch" and items[fix["id"]]["provider_id"] == fixers["id"]
    assert items[fix["id"]]["order_ids"] == [o["id"] for o in fix_a[:2]]  # capacity 2, oldest first
    assert set(proposal["unassigned_order_ids"]) >= {health_b["id"], fix_a[2]["id"]}
    # Proposing again adds nothing for orders already planned.
    again = (await client.post(f"{BASE}/plans/{plan['id']}/propose", headers=ADMIN)).json()
    assert again["added"] == []

    executed = await client.post(f"{BASE}/plans/{plan['id']}/execute", headers=ADMIN)
    assert executed.status_code == 200, executed.text
    for order in [*health_a, *fix_a[:2]]:
        assert (await client.get(f"{BASE}/orders/{order['id']}", headers=ADMIN)).json()["status"] == "dispatched"
    assert (await client.get(f"{BASE}/orders/{fix_a[2]['id']}", headers=ADMIN)).json()["status"] == "submitted"
    used = lambda p: client.get(f"{BASE}/providers/{p['id']}/capacity", params={"month": "2026-10"}, headers=ADMIN)  # noqa: E731
    assert (await used(medics)).json()["used"] == 1
    assert (await used(fixers)).json()["used"] == 2


async def test_the_overdue_job_runs_in_the_background_and_a_sweep_runs_from_the_command_line(stack, client, kinds, tree, clock, tap):
    """Runs last: the command-line sweep judges every open order of the module."""
    jobs = [t for t in stack.services["dispatch"].runtime.background if t.get_name() == "overdue-sweep"]
    assert len(jobs) == 1 and not jobs[0].done()

    clock.set(datetime(2026, 9, 1, 1, 0, tzinfo=UTC))
    order = await _order(client, kinds["repair"], tree.micro_b)
    url = stack.services["dispatch"].database_url
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["sweep-overdue", "--as-of", "2026-09-01T14:00:00+08:00"], env={"DATABASE_URL": url}
    )
    assert result.exit_code == 0, result.output
    swept = json.loads(result.output)
    assert order["id"] in swept["response_overdue"]
    flagged = (await client.get(f"{BASE}/orders/{order['id']}", headers=ADMIN)).json()
    assert flagged["response_overdue"] is True and flagged["escalation"] == "village" and flagged["escalated_unit_id"] == tree.village_b.id
    # The command wrote its events to the outbox; the running service's relay publishes them.
    (event,) = await tap.wait_for(OrderOverdue, lambda e: e.order_id == order["id"])
    assert event.clock == "response" and event.escalated_to == "village"
    naive = await asyncio.to_thread(CliRunner().invoke, cli, ["sweep-overdue", "--as-of", "2026-09-01T14:00:00"], env={"DATABASE_URL": url})
    assert naive.exit_code != 0
