"""The ledger through the HTTP API: rules, entries, caps, reversals, scope, and the hash chain."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from typer.testing import CliRunner

from harness import identity_headers
from points_svc.__main__ import cli
from shared.database import Database
from shared.identity import Identity, Role


def admin() -> dict[str, str]:
    """Fresh platform-admin headers (identity tokens live a minute)."""
    return identity_headers()


async def _entry(client, member, rule, day="2025-03-10", headers=None, **extra):
    body = {"member_id": member["id"], "rule_id": rule["id"], "occurred_on": day, "description": "清理村道垃圾", **extra}
    return await client.post("/api/v1/points/entries", json=body, headers=headers or admin())


async def test_rules_are_validated_and_scoped_to_towns(world):
    client = world.client
    rule = await world.rule("ENV1", "living_environment", 5, monthly_cap=10)
    assert rule["trigger"] == "manual" and rule["monthly_cap"] == 10
    duplicate = await client.post("/api/v1/points/rules", json={**{k: rule[k] for k in ("code", "name", "category", "points", "active_from")}, "town_unit_id": world.town.id}, headers=admin())
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_code"
    bad = await client.post(
        "/api/v1/points/rules",
        json={"town_unit_id": world.town.id, "code": "BAD", "name": "x", "category": "deduction", "points": 3, "active_from": "2025-01-01"},
        headers=admin(),
    )
    assert bad.status_code == 422
    not_town = await client.post(
        "/api/v1/points/rules",
        json={"town_unit_id": world.villages[0].id, "code": "V", "name": "x", "category": "service", "points": 3, "active_from": "2025-01-01"},
        headers=admin(),
    )
    assert not_town.status_code == 422 and not_town.json()["code"] == "not_a_town"
    # A village secretary reads the town's catalogue but may not change it.
    secretary = world.secretary(world.villages[0])
    listed = await client.get("/api/v1/points/rules", params={"town_unit_id": world.town.id}, headers=secretary)
    assert listed.status_code == 200 and rule["id"] in [r["id"] for r in listed.json()["items"]]
    forbidden = await client.patch(f"/api/v1/points/rules/{rule['id']}", json={"points": 6}, headers=secretary)
    assert forbidden.status_code == 403


async def test_entries_follow_rules_and_caps_answer_422_naming_the_cap(world):
    client = world.client
    member = await world.member(world.villages[0], "张三")
    rule = await world.rule("CAP", "rural_revitalization", 4, monthly_cap=10)
    first = await _entry(client, member, rule)
    assert first.status_code == 201, first.text
    entry = first.json()
    assert entry["points"] == 4 and entry["period"] == "2025-03" and entry["branch_seq"] >= 1
    assert entry["branch_unit_id"] == world.villages[0].id and entry["source_kind"] == "manual"
    assert (await _entry(client, member, rule)).status_code == 201
    capped = await _entry(client, member, rule)
    assert capped.status_code == 422
    problem = capped.json()
    assert problem["code"] == "monthly_cap_exceeded" and "10" in problem["detail"] and "CAP" in problem["detail"]
    # Another month has its own cap.
    assert (await _entry(client, member, rule, day="2025-04-02")).status_code == 201
    balance = (await client.get(f"/api/v1/points/members/{member['id']}/balance", headers=admin())).json()
    assert balance["points"] == 12
    assert [(p["period"], p["points"]) for p in balance["periods"]] == [("2025-03", 8), ("2025-04", 4)]


async def test_evidence_dates_and_deductions(world):
    client = world.client
    member = await world.member(world.villages[0], "李四")
    evidence_rule = await world.rule("EPI", "epidemic_prevention", 3, evidence_required=True)
    missing = await _entry(client, member, evidence_rule)
    assert missing.status_code == 422 and missing.json()["code"] == "evidence_required"
    ok = await _entry(client, member, evidence_rule, evidence=["https://files.example/photo1.jpg"])
    assert ok.status_code == 201 and ok.json()["evidence"] == ["https://files.example/photo1.jpg"]
    future = await _entry(client, member, evidence_rule, day="2999-01-01", evidence=["https://x.example/a"])
    assert future.status_code == 422 and future.json()["code"] == "future_date"
    old_rule = await world.rule("OLD", "service", 2, active_until="2020-12-31")
    inactive = await _entry(client, member, old_rule)
    assert inactive.status_code == 422 and inactive.json()["code"] == "rule_inactive"
    deduction = await world.rule("DED", "deduction", -5)
    taken = await _entry(client, member, deduction, description="未按时参加组织生活")
    assert taken.status_code == 201 and taken.json()["points"] == -5
    balance = (await client.get(f"/api/v1/points/members/{member['id']}/balance", headers=admin())).json()
    assert balance["points"] == -2


async def test_changing_a_rule_never_rewrites_past_entries(world):
    client = world.client
    member = await world.member(world.villages[1], "王五")
    rule = await world.rule("MED", "dispute_mediation", 5)
    before = (await _entry(client, member, rule)).json()
    changed = await client.patch(f"/api/v1/points/rules/{rule['id']}", json={"points": 8, "name": "调解（新）"}, headers=admin())
    assert changed.status_code == 200 and changed.json()["points"] == 8
    again = await client.get(f"/api/v1/points/entries/{before['id']}", headers=admin())
    assert again.json()["points"] == 5 and again.json()["rule_name"] == "规则MED" and again.json()["hash"] == before["hash"]
    after = (await _entry(client, member, rule)).json()
    assert after["points"] == 8 and after["rule_name"] == "调解（新）"


async def test_reversal_is_an_entry_naming_the_original(world):
    client = world.client
    member = await world.member(world.villages[0], "赵六")
    rule = await world.rule("REV", "service", 6)
    original = (await _entry(client, member, rule, headers=world.secretary(world.villages[0]))).json()
    reversed_ = await client.post(f"/api/v1/points/entries/{original['id']}/reverse", json={"reason": "重复登记"}, headers=admin())
    assert reversed_.status_code == 201, reversed_.text
    reversal = reversed_.json()
    assert reversal["points"] == -6 and reversal["reverses_entry_id"] == original["id"] and reversal["reason"] == "重复登记"
    assert reversal["source_kind"] == "reversal" and reversal["period"] == original["period"]
    twice = await client.post(f"/api/v1/points/entries/{original['id']}/reverse", json={"reason": "again"}, headers=admin())
    assert twice.status_code == 409 and twice.json()["code"] == "already_reversed"
    of_reversal = await client.post(f"/api/v1/points/entries/{reversal['id']}/reverse", json={"reason": "x"}, headers=admin())
    assert of_reversal.status_code == 422
    assert (await client.get(f"/api/v1/points/entries/{original['id']}", headers=admin())).json()["points"] == 6
    balance = (await client.get(f"/api/v1/points/members/{member['id']}/balance", headers=admin())).json()
    assert balance["points"] == 0 and balance["entries"] == 2


async def test_scope_hides_other_branches_and_read_only_keys_cannot_write(world):
    client = world.client
    member = await world.member(world.villages[1], "孙七")
    rule = await world.rule("SCP", "service", 1)
    other_secretary = world.secretary(world.villages[0])
    assert (await client.get(f"/api/v1/points/members/{member['id']}", headers=other_secretary)).status_code == 404
    assert (await _entry(client, member, rule, headers=other_secretary)).status_code == 404
    entry = (await _entry(client, member, rule, headers=world.secretary(world.villages[1]))).json()
    assert (await client.get(f"/api/v1/points/entries/{entry['id']}", headers=other_secretary)).status_code == 404
    listed = (await client.get("/api/v1/points/entries", params={"per_page": 200}, headers=other_secretary)).json()
    assert entry["id"] not in [e["id"] for e in listed["items"]]
    party_member = identity_headers(Identity(subject="pm", role=Role.PARTY_MEMBER, scope_unit_id=world.villages[1].id))
    assert (await _entry(client, member, rule, headers=party_member)).status_code == 403
    read_only = identity_headers(Identity(subject="key", role=Role.SYSTEM, scope_unit_id=world.county.id, rights={"points": "read"}))
    assert (await _entry(client, member, rule, headers=read_only)).status_code == 403
    assert (await client.get("/api/v1/points/entries", headers={})).status_code == 401


async def test_idempotency_key_records_one_entry(world):
    client = world.client
    member = await world.member(world.villages[0], "周八")
    rule = await world.rule("IDEM", "service", 2)
    headers = {**admin(), "Idempotency-Key": "entry-once"}
    first = await _entry(client, member, rule, headers=headers)
    second = await _entry(client, member, rule, headers=headers)
    assert first.status_code == second.status_code == 201 and first.json()["id"] == second.json()["id"]
    listed = (await client.get("/api/v1/points/entries", params={"member_id": member["id"]}, headers=admin())).json()
    assert listed["total"] == 1


async def test_concurrent_entries_of_one_branch_never_fork_the_chain(world):
    client = world.client
    village = await world.unit("village", world.town, "并发村")
    members = [await world.member(village, f"并发{i}") for i in range(3)]
    rule = await world.rule("CONC", "service", 1)
    responses = await asyncio.gather(*(_entry(client, members[i % 3], rule) for i in range(12)))
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses if r.status_code != 201]
    assert sorted(r.json()["branch_seq"] for r in responses) == list(range(1, 13))
    report = (await client.get("/api/v1/points/ledger/verify", params={"branch_unit_id": village.id}, headers=admin())).json()
    assert report["ok"] and report["branches"][0]["entries_checked"] == 12


async def test_tampering_is_found_by_the_verify_endpoint_and_cli(world, stack):
    client = world.client
    village = await world.unit("village", world.town, "篡改村")
    member = await world.member(village, "钱九")
    rule = await world.rule("TMP", "service", 3)
    entries = [(await _entry(client, member, rule, day=f"2025-0{m}-05")).json() for m in (1, 2, 3)]
    intact = (await client.get("/api/v1/points/ledger/verify", params={"branch_unit_id": village.id}, headers=admin())).json()
    assert intact == {"ok": True, "branches": [{"branch_unit_id": village.id, "entries_checked": 3, "ok": True, "first_broken": None}]}
    url = stack.services["points"].database_url
    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, cli, ["verify", "--branch", village.id], env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert "all intact" in result.output

    database = Database(url)
    try:
        async with database.transaction() as session:
            await session.execute(text("UPDATE entries SET points = 30 WHERE id = :id"), {"id": entries[1]["id"]})
    finally:
        await database.dispose()
    broken = (await client.get("/api/v1/points/ledger/verify", params={"branch_unit_id": village.id}, headers=admin())).json()
    assert broken["ok"] is False
    assert broken["branches"][0]["first_broken"] == {"entry_id": entries[1]["id"], "branch_seq": entries[1]["branch_seq"], "reason": "hash_mismatch"}
    result = await asyncio.to_thread(runner.invoke, cli, ["verify", "--branch", village.id], env={"DATABASE_URL": url})
    assert result.exit_code == 1 and "BROKEN" in result.output and entries[1]["id"] in result.output
    # An auditor outside the branch sees no chain of it; a grid worker may not verify at all.
    outsider = identity_headers(Identity(subject="aud", role=Role.AUDITOR, scope_unit_id=world.villages[0].id))
    seen = (await client.get("/api/v1/points/ledger/verify", params={"branch_unit_id": village.id}, headers=outsider)).json()
    assert seen["branches"] == []
    worker = identity_headers(Identity(subject="gw", role=Role.GRID_WORKER, scope_unit_id=village.id))
    assert (await client.get("/api/v1/points/ledger/verify", headers=worker)).status_code == 403
