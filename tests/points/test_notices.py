"""The monthly public notice through the HTTP API: snapshot, objections, closing, public data, XLSX."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from harness import identity_headers
from shared.database import Database
from shared.identity import Identity, Role


def admin() -> dict[str, str]:
    """Fresh platform-admin headers (identity tokens live a minute)."""
    return identity_headers()
PERIOD = "2025-08"


async def _entry(client, member, rule, day=f"{PERIOD}-10"):
    body = {"member_id": member["id"], "rule_id": rule["id"], "occurred_on": day, "description": "人居环境整治"}
    response = await client.post("/api/v1/points/entries", json=body, headers=admin())
    assert response.status_code == 201, response.text
    return response.json()


async def _pass_deadline(stack, notice_id: str) -> None:
    # Time passing, without waiting five working days: move the deadline into the past.
    database = Database(stack.services["points"].database_url)
    try:
        async with database.transaction() as session:
            await session.execute(
                text("UPDATE notices SET objection_deadline = :t WHERE id = :id"),
                {"t": datetime.now(UTC) - timedelta(minutes=1), "id": notice_id},
            )
    finally:
        await database.dispose()


@pytest.fixture(scope="module")
async def branch(world):
    village = await world.unit("village", world.town, "公示村")
    grid = await world.unit("grid", village, "一网格")
    a = await world.member(village, "甲党员")
    b = await world.member(village, "乙党员")
    c = await world.member(village, "丙党员", org_unit=grid)
    r = await world.rule("NR", "living_environment", 5)
    s = await world.rule("NS", "service", 3)
    entries = {"a_r": await _entry(world.client, a, r), "a_s": await _entry(world.client, a, s), "b_r": await _entry(world.client, b, r)}
    return {"village": village, "grid": grid, "a": a, "b": b, "c": c, "r": r, "s": s, "entries": entries}


async def test_notice_lifecycle_with_objections(world, stack, branch):
    client = world.client
    village, entries = branch["village"], branch["entries"]
    secretary = world.secretary(village)
    opened = await client.post(
        "/api/v1/points/notices", json={"branch_unit_id": village.id, "period": PERIOD, "objection_working_days": 1}, headers=secretary
    )
    assert opened.status_code == 201, opened.text
    notice = opened.json()
    assert notice["status"] == "open" and notice["members"] == 3 and notice["total_points"] == 13
    assert [(l["name"], l["rank"], l["points"]) for l in notice["lines"]] == [("甲党员", 1, 8), ("乙党员", 2, 5), ("丙党员", 3, 0)]
    assert {e["entry_id"] for e in notice["lines"][0]["entries"]} == {entries["a_r"]["id"], entries["a_s"]["id"]}
    assert datetime.fromisoformat(notice["objection_deadline"]) > datetime.now(UTC)
    again = await client.post("/api/v1/points/notices", json={"branch_unit_id": village.id, "period": PERIOD}, headers=secretary)
    assert again.status_code == 409 and again.json()["code"] == "notice_exists"

    # The month is on notice: a late deed of August goes to September, naming its month.
    late = await _entry(client, branch["a"], branch["r"])
    assert late["period"] == "2025-09" and late["original_period"] == PERIOD

    resident = identity_headers(Identity(subject="resident-1", role=Role.RESIDENT, scope_unit_id=branch["grid"].id))
    upheld = await client.post(
        f"/api/v1/points/notices/{notice['id']}/objections", json={"entry_id": entries["b_r"]["id"], "reason": "当天未参加"}, headers=resident
    )
    assert upheld.status_code == 201, upheld.text
    rejected = await client.post(
        f"/api/v1/points/notices/{notice['id']}/objections", json={"entry_id": entries["a_s"]["id"], "reason": "有疑问"}, headers=resident
    )
    assert rejected.status_code == 201
    not_on = await client.post(
        f"/api/v1/points/notices/{notice['id']}/objections", json={"entry_id": late["id"], "reason": "x"}, headers=resident
    )
    assert not_on.status_code == 422 and not_on.json()["code"] == "entry_not_on_notice"
    outsider = identity_headers(Identity(subject="r2", role=Role.RESIDENT, scope_unit_id=world.villages[0].id))
    assert (await client.get(f"/api/v1/points/notices/{notice['id']}", headers=outsider)).status_code == 404

    early = await client.post(f"/api/v1/points/notices/{notice['id']}/close", headers=secretary)
    assert early.status_code == 409 and early.json()["code"] == "objection_window_open"
    await _pass_deadline(stack, notice["id"])
    too_late = await client.post(
        f"/api/v1/points/notices/{notice['id']}/objections", json={"entry_id": entries["a_r"]["id"], "reason": "迟到"}, headers=resident
    )
    assert too_late.status_code == 422 and too_late.json()["code"] == "objection_window_closed"
    pending = await client.post(f"/api/v1/points/notices/{notice['id']}/close", headers=secretary)
    assert pending.status_code == 409 and pending.json()["code"] == "objections_pending"

    assert (await client.post(
        f"/api/v1/points/notices/{notice['id']}/objections/{upheld.json()['id']}/resolve",
        json={"decision": "upheld", "reason": "核实未参加"}, headers=resident,
    )).status_code == 403
    decided = await client.post(
        f"/api/v1/points/notices/{notice['id']}/objections/{upheld.json()['id']}/resolve",
        json={"decision": "upheld", "reason": "核实未参加"}, headers=secretary,
    )
    assert decided.status_code == 200, decided.text
    reversal_id = decided.json()["reversal_entry_id"]
    reversal = (await client.get(f"/api/v1/points/entries/{reversal_id}", headers=admin())).json()
    assert reversal["reverses_entry_id"] == entries["b_r"]["id"] and reversal["period"] == PERIOD and reversal["source_kind"] == "objection"
    kept = await client.post(
        f"/api/v1/points/notices/{notice['id']}/objections/{rejected.json()['id']}/resolve",
        json={"decision": "rejected", "reason": "有照片为证"}, headers=secretary,
    )
    assert kept.status_code == 200 and kept.json()["status"] == "rejected" and kept.json()["reversal_entry_id"] is None

    closed = await client.post(f"/api/v1/points/notices/{notice['id']}/close", headers=secretary)
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["status"] == "closed" and body["total_points"] == 8
    assert {l["name"]: l["final_points"] for l in body["lines"]} == {"甲党员": 8, "乙党员": 0, "丙党员": 0}

    # The month is frozen: a correction goes into a later month and names the original.
    correction = await client.post(f"/api/v1/points/entries/{entries['a_s']['id']}/reverse", json={"reason": "复核"}, headers=secretary)
    assert correction.status_code == 201
    assert correction.json()["period"] == "2025-09" and correction.json()["original_period"] == PERIOD
    assert correction.json()["reverses_entry_id"] == entries["a_s"]["id"]
    report = (await client.get("/api/v1/points/ledger/verify", params={"branch_unit_id": village.id}, headers=admin())).json()
    assert report["ok"]

    # Balances still equal the sum of entries, month by month.
    balance = (await client.get(f"/api/v1/points/members/{branch['a']['id']}/balance", headers=admin())).json()
    assert [(p["period"], p["points"]) for p in balance["periods"]] == [(PERIOD, 8), ("2025-09", 2)]

    listed = (await client.get("/api/v1/points/notices", params={"period": PERIOD}, headers=resident)).json()
    assert [n["id"] for n in listed["items"]] == [notice["id"]]


async def test_public_notice_data_and_xlsx_export(world, branch):
    client = world.client
    village = branch["village"]
    gateway = identity_headers(Identity(subject="gateway", role=Role.SERVICE))
    public = await client.get(f"/api/v1/points/public/notices/{village.id}/{PERIOD}", headers=gateway)
    assert public.status_code == 200, public.text
    data = public.json()
    assert set(data) == {"branch_name", "period", "status", "opened_at", "objection_deadline", "total_points", "lines"}
    assert data["branch_name"] == "公示村" and data["status"] == "closed"
    assert data["lines"][0] == {"rank": 1, "name": "甲党员", "points": 8, "entries": ["规则NR +5", "规则NS +3"]}
    assert data["lines"][1] == {"rank": 2, "name": "乙党员", "points": 0, "entries": ["规则NR +5", "规则NR -5"]}
    assert all(set(line) == {"rank", "name", "points", "entries"} for line in data["lines"])
    assert (await client.get(f"/api/v1/points/public/notices/{village.id}/{PERIOD}")).status_code == 401
    other = identity_headers(Identity(subject="r3", role=Role.RESIDENT, scope_unit_id=world.villages[0].id))
    assert (await client.get(f"/api/v1/points/public/notices/{village.id}/{PERIOD}", headers=other)).status_code == 404
    assert (await client.get(f"/api/v1/points/public/notices/{village.id}/2024-01", headers=gateway)).status_code == 404

    notice_id = (await client.get("/api/v1/points/notices", params={"under": village.id}, headers=admin())).json()["items"][0]["id"]
    exported = await client.get(f"/api/v1/points/notices/{notice_id}/export.xlsx", headers=world.secretary(village))
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    book = load_workbook(BytesIO(exported.content))
    sheet = book["公示"]
    assert "公示村" in sheet["A1"].value and PERIOD in sheet["A1"].value
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows(min_row=5)]
    assert rows[0][:3] == (1, "甲党员", 8) and rows[1][:3] == (2, "乙党员", 0)
    details = [tuple(c.value for c in row) for row in book["明细"].iter_rows(min_row=2)]
    assert len(details) == 4  # three deeds and the upheld objection's reversal


async def test_notice_rules(world):
    client = world.client
    village = await world.unit("village", world.town, "默认村")
    future = await client.post("/api/v1/points/notices", json={"branch_unit_id": village.id, "period": "2999-01"}, headers=admin())
    assert future.status_code == 422 and future.json()["code"] == "future_period"
    grid = await world.unit("grid", village, "网格")
    not_branch = await client.post("/api/v1/points/notices", json={"branch_unit_id": grid.id, "period": PERIOD}, headers=admin())
    assert not_branch.status_code == 422 and not_branch.json()["code"] == "not_a_branch"
    other = world.secretary(world.villages[0])
    assert (await client.post("/api/v1/points/notices", json={"branch_unit_id": village.id, "period": PERIOD}, headers=other)).status_code == 404
    # The service default (0 working days in this stack) applies when none is given: it closes at once.
    opened = await client.post("/api/v1/points/notices", json={"branch_unit_id": village.id, "period": PERIOD}, headers=admin())
    assert opened.status_code == 201 and opened.json()["objection_working_days"] == 0 and opened.json()["members"] == 0
    closed = await client.post(f"/api/v1/points/notices/{opened.json()['id']}/close", headers=admin())
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    twice = await client.post(f"/api/v1/points/notices/{opened.json()['id']}/close", headers=admin())
    assert twice.status_code == 409 and twice.json()["code"] == "notice_closed"
