"""Deeds recorded in batches (`POST /entries:batch`): the rules of one-by-one entries, all or nothing,
one chain per branch kept whole, balances kept, and one EntryRecorded per entry."""

from __future__ import annotations

import json

from sqlalchemy import select

from harness import identity_headers
from points_svc.db import platform


def admin() -> dict[str, str]:
    return identity_headers()


def deed(member: dict, rule: dict, day: str, text: str = "清理村道垃圾", **extra) -> dict:
    return {"member_id": member["id"], "rule_id": rule["id"], "occurred_on": day, "description": text, **extra}


async def batch(client, entries: list[dict], headers=None, key: str | None = None):
    extra = {"Idempotency-Key": key} if key else {}
    return await client.post("/api/v1/points/entries:batch", json={"entries": entries}, headers={**(headers or admin()), **extra})


async def recorded_events(stack, entry_ids: list[str]) -> list[dict]:
    database = stack.services["points"].runtime.database
    async with database.session() as session:
        rows = await session.execute(
            select(platform.outbox.c.payload).where(platform.outbox.c.event_type.like("%entry.recorded%")).order_by(platform.outbox.c.seq)
        )
        wanted = set(entry_ids)
        return [p for p in (json.loads(r) for (r,) in rows.all()) if p["entry_id"] in wanted]


async def test_a_batch_records_entries_as_one_by_one_would(world, stack):
    client = world.client
    first, second = world.villages
    a = await world.member(first, "批一")
    b = await world.member(first, "批二")
    c = await world.member(second, "批三")
    env = await world.rule("BENV", "living_environment", 3, monthly_cap=15)
    absent = await world.rule("BABS", "deduction", -5)
    single = await client.post("/api/v1/points/entries", json=deed(a, env, "2025-04-02"), headers=admin())
    assert single.status_code == 201, single.text
    entries = [
        deed(a, env, "2025-04-03"),
        deed(b, env, "2025-04-03"),
        deed(c, env, "2025-04-05", "参与河道清淤"),
        deed(a, absent, "2025-04-20", "无故缺席主题党日活动"),
        deed(b, env, "2025-05-01"),
    ]
    response = await batch(client, entries)
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["recorded"] == 5
    briefs = result["entries"]
    assert [e["period"] for e in briefs] == ["2025-04", "2025-04", "2025-04", "2025-04", "2025-05"]
    stored = [(await client.get(f"/api/v1/points/entries/{e['id']}", headers=admin())).json() for e in briefs]
    assert [e["member_id"] for e in stored] == [a["id"], b["id"], c["id"], a["id"], b["id"]]
    assert [e["points"] for e in stored] == [3, 3, 3, -5, 3]
    assert [e["branch_seq"] for e in stored] == [e["branch_seq"] for e in briefs]
    # The first village's chain goes on after the single entry, in the batch's order.
    seqs = [e["branch_seq"] for e in stored if e["branch_unit_id"] == first.id]
    assert seqs == list(range(single.json()["branch_seq"] + 1, single.json()["branch_seq"] + 5))

    assert stored[0]["prev_hash"] == single.json()["hash"] and stored[0]["source_kind"] == "manual"
    assert stored[0]["recorded_by"] == "test-admin" and stored[0]["description"] == "清理村道垃圾"
    assert stored[0]["rule_code"] == "BENV" and stored[0]["member_name"] == "批一"
    verified = (await client.get("/api/v1/points/ledger/verify", headers=admin())).json()
    assert verified["ok"], verified

    balance = (await client.get(f"/api/v1/points/members/{a['id']}/balance", headers=admin())).json()
    assert [(p["period"], p["points"], p["entries"]) for p in balance["periods"]] == [("2025-04", 3 + 3 - 5, 3)]
    events = await recorded_events(stack, [e["id"] for e in briefs])
    assert [e["entry_id"] for e in events] == [e["id"] for e in briefs]
    assert events[3]["points"] == -5 and events[3]["rule_code"] == "BABS" and events[2]["branch_unit_id"] == second.id


async def test_a_cap_counts_the_batch_and_any_refusal_records_nothing(world):
    client = world.client
    village = world.villages[0]
    member = await world.member(village, "封顶")
    other = await world.member(world.villages[1], "别村")
    capped = await world.rule("BCAP", "rural_revitalization", 4, monthly_cap=10)
    proof = await world.rule("BPROOF", "service", 2, evidence_required=True)
    late = await world.rule("BLATE", "epidemic_prevention", 2, active_from="2025-06-01")
    before = (await client.get("/api/v1/points/entries", params={"member_id": member["id"]}, headers=admin())).json()["total"]
    response = await batch(
        client,
        [
            deed(member, capped, "2025-03-01"),
            deed(member, capped, "2025-03-02"),
            deed(member, capped, "2025-03-03"),  # 12 > 10
            deed(member, capped, "2025-04-03"),  # another month: fine
            {**deed(member, capped, "2025-03-04"), "member_id": "nobody"},
            {**deed(member, capped, "2025-03-04"), "rule_id": "norule"},
            deed(member, proof, "2025-03-05"),
            deed(member, late, "2025-03-05"),
            deed(member, capped, "2999-01-01"),
        ],
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "batch_rejected"
    assert [(e["loc"][2], e["type"]) for e in body["errors"]] == [
        (2, "monthly_cap_exceeded"), (4, "not_found"), (5, "unknown_rule"), (6, "evidence_required"), (7, "rule_inactive"), (8, "future_date"),
    ]
    assert body["errors"][0]["loc"] == ["body", "entries", 2, "rule_id"] and "caps a member at 10" in body["errors"][0]["msg"]
    after = (await client.get("/api/v1/points/entries", params={"member_id": member["id"]}, headers=admin())).json()["total"]
    assert after == before

    # A village secretary's batch may not reach another village's member.
    secretary = world.secretary(village)
    scoped = await batch(client, [deed(member, capped, "2025-03-01"), deed(other, capped, "2025-03-01")], headers=secretary)
    assert scoped.status_code == 422 and [(e["loc"][2], e["type"]) for e in scoped.json()["errors"]] == [(1, "not_found")]
    own = await batch(client, [deed(member, capped, "2025-03-01"), deed(member, capped, "2025-03-02")], headers=secretary)
    assert own.status_code == 201, own.text
    # The stored 8 points count against the cap of the next batch.
    full = await batch(client, [deed(member, capped, "2025-03-09")], headers=secretary)
    assert full.status_code == 422 and full.json()["errors"][0]["type"] == "monthly_cap_exceeded"


async def test_a_month_on_notice_sends_batch_entries_on_as_one_by_one(world):
    client = world.client
    village = world.villages[1]
    one = await world.member(village, "公示一")
    two = await world.member(village, "公示二")
    rule = await world.rule("BNOTE", "rural_revitalization", 5)
    opened = await client.post("/api/v1/points/notices", json={"branch_unit_id": village.id, "period": "2025-01"}, headers=admin())
    assert opened.status_code == 201, opened.text
    single = (await client.post("/api/v1/points/entries", json=deed(one, rule, "2025-01-15"), headers=admin())).json()
    batched = (await batch(client, [deed(two, rule, "2025-01-15")])).json()["entries"][0]
    stored = (await client.get(f"/api/v1/points/entries/{batched['id']}", headers=admin())).json()
    assert (single["period"], single["original_period"]) == (stored["period"], stored["original_period"]) == ("2025-02", "2025-01")


async def test_a_repeated_batch_with_its_key_records_once(world):
    client = world.client
    member = await world.member(world.villages[0], "重发")
    rule = await world.rule("BKEY", "living_environment", 1)
    entries = [deed(member, rule, f"2025-02-{d:02d}") for d in range(1, 11)]
    first = await batch(client, entries, key="batch-key-1")
    again = await batch(client, entries, key="batch-key-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    listed = (await client.get("/api/v1/points/entries", params={"member_id": member["id"]}, headers=admin())).json()
    assert listed["total"] == 10


async def test_the_largest_batch_is_recorded_in_one_piece(world):
    client = world.client
    village = world.villages[0]
    members = [await world.member(village, f"满批{n}") for n in range(5)]
    rule = await world.rule("BMAX", "rural_revitalization", 1)
    entries = [deed(members[n % 5], rule, f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}") for n in range(5000)]
    response = await batch(client, entries)
    assert response.status_code == 201, response.text[:500]
    assert response.json()["recorded"] == 5000
    too_many = await batch(client, entries + entries[:1])
    assert too_many.status_code == 422
    balance = (await client.get(f"/api/v1/points/members/{members[0]['id']}/balance", headers=admin())).json()
    assert sum(p["entries"] for p in balance["periods"]) == 1000
    verified = (await client.get("/api/v1/points/ledger/verify", params={"branch_unit_id": village.id}, headers=admin())).json()
    assert verified["ok"], verified


async def test_entries_list_by_several_months_at_once(world):
    client = world.client
    member = await world.member(world.villages[0], "多月")
    rule = await world.rule("BMONTHS", "service", 1)
    recorded = await batch(client, [deed(member, rule, day) for day in ("2025-03-02", "2025-04-02", "2025-04-03", "2025-05-02")])
    assert recorded.status_code == 201, recorded.text
    listed = await client.get("/api/v1/points/entries", params={"member_id": member["id"], "period": ["2025-03", "2025-05"]}, headers=admin())
    assert sorted(e["period"] for e in listed.json()["items"]) == ["2025-03", "2025-05"] and listed.json()["total"] == 2
    one = await client.get("/api/v1/points/entries", params={"member_id": member["id"], "period": "2025-04"}, headers=admin())
    assert one.json()["total"] == 2
    bad = await client.get("/api/v1/points/entries", params={"member_id": member["id"], "period": ["2025-03", "March"]}, headers=admin())
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"][:2] == ["query", "period"]
