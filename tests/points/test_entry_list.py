"""The entry list at every level of the tree: a subtree's entries newest first, totals summed from the units'
tallies that always agree with the entries, and a town's page read from the town's own index."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from harness import analyze, identity_headers, plan_of
from points_svc.ledger.service import entries_page
from shared.identity import Identity, Role

ADMIN = identity_headers()


async def _rule(world, town_id: str, code: str) -> dict:
    body = {"town_unit_id": town_id, "code": code, "name": code, "category": "service", "points": 2, "active_from": "2020-01-01"}
    response = await world.client.post("/api/v1/points/rules", json=body, headers=identity_headers())
    assert response.status_code == 201, response.text
    return response.json()


def _deed(member: dict, rule: dict, day: str) -> dict:
    return {"member_id": member["id"], "rule_id": rule["id"], "occurred_on": day, "description": "义务清扫"}


@pytest.fixture(scope="module")
async def ledger(world):
    """Entries in two villages of the town (one member on a grid below a village), and in a second town:
    recorded one by one, in a batch, and one reversed."""
    client = world.client
    other_town = await world.unit("town", world.county, "南大里乡")
    other_village = await world.unit("village", other_town, "上晁村")
    grid = await world.unit("grid", world.villages[0], "一网格")
    first, second = await world.member(world.villages[0], "甲"), await world.member(world.villages[1], "乙")
    on_grid, elsewhere = await world.member(world.villages[0], "丙", org_unit=grid), await world.member(other_village, "丁")
    rule, other_rule = await _rule(world, world.town.id, "LIST"), await _rule(world, other_town.id, "LIST")
    recorded = []
    for member, day in ((first, "2025-01-05"), (second, "2025-01-06"), (first, "2025-02-03")):
        response = await client.post("/api/v1/points/entries", json=_deed(member, rule, day), headers=identity_headers())
        assert response.status_code == 201, response.text
        recorded.append(response.json())
    batch = [_deed(m, rule, day) for m in (second, on_grid) for day in ("2025-01-20", "2025-02-20", "2025-03-20")]
    response = await client.post("/api/v1/points/entries:batch", json={"entries": batch}, headers=identity_headers())
    assert response.status_code == 201, response.text
    for brief in response.json()["entries"]:
        recorded.append((await client.get(f"/api/v1/points/entries/{brief['id']}", headers=identity_headers())).json())
    response = await client.post("/api/v1/points/entries", json=_deed(elsewhere, other_rule, "2025-02-10"), headers=identity_headers())
    recorded.append(response.json())
    response = await client.post(f"/api/v1/points/entries/{recorded[0]['id']}/reverse", json={"reason": "记错了人"}, headers=identity_headers())
    assert response.status_code == 201, response.text
    recorded.append(response.json())
    return {"entries": recorded, "other_town": other_town, "other_village": other_village, "grid": grid}


async def _all_pages(client, headers: dict, **params) -> tuple[list[dict], set[int]]:
    """Every item of a list, two per page, and the totals the pages gave."""
    items, totals, page = [], set(), 1
    while True:
        body = (await client.get("/api/v1/points/entries", params={**params, "page": page, "per_page": 2}, headers=headers)).json()
        items += body["items"]
        totals.add(body["total"])
        if not body["items"]:
            return items, totals
        page += 1


async def test_every_level_lists_its_entries_newest_first_with_their_exact_total(world, ledger):
    entries = ledger["entries"]
    town_admin = identity_headers(Identity(subject="list-town", role=Role.TOWN_ADMIN, scope_unit_id=world.town.id))
    cases = {
        "county": (ADMIN, {"under": world.county.id}, lambda e: True),
        "everywhere": (ADMIN, {}, lambda e: True),
        "town": (ADMIN, {"under": world.town.id}, lambda e: e["town_unit_id"] == world.town.id),
        "town admin's scope": (town_admin, {}, lambda e: e["town_unit_id"] == world.town.id),
        "other town": (ADMIN, {"under": ledger["other_town"].id}, lambda e: e["town_unit_id"] == ledger["other_town"].id),
        "village": (ADMIN, {"under": world.villages[0].id}, lambda e: e["unit_path"].startswith(world.villages[0].path)),
        "grid below the village": (ADMIN, {"under": ledger["grid"].id}, lambda e: e["unit_path"].startswith(ledger["grid"].path)),
        "town, two months": (ADMIN, {"under": world.town.id, "period": ["2025-01", "2025-03"]},
                             lambda e: e["town_unit_id"] == world.town.id and e["period"] in ("2025-01", "2025-03")),
        "village, one month": (ADMIN, {"under": world.villages[0].id, "period": "2025-02"},
                               lambda e: e["unit_path"].startswith(world.villages[0].path) and e["period"] == "2025-02"),
        "town, one member (counted)": (ADMIN, {"under": world.town.id, "member_id": entries[0]["member_id"]},
                                       lambda e: e["town_unit_id"] == world.town.id and e["member_id"] == entries[0]["member_id"]),
    }
    for name, (headers, params, belongs) in cases.items():
        items, totals = await _all_pages(world.client, headers, **params)
        ids = [item["id"] for item in items]
        if "under" in params or headers is town_admin:
            expected = sorted((e["id"] for e in entries if belongs(e)), reverse=True)
            assert ids == expected, name
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids), name
        assert totals == {len(ids)}, (name, totals, len(ids))
    assert len([e for e in entries if e["town_unit_id"] == world.town.id]) == 10  # the cases above are not empty


async def test_the_tallies_always_equal_the_entries_they_count(stack, ledger):
    database = stack.services["points"].runtime.database
    async with database.session() as session:
        counted = (await session.execute(text(
            "SELECT unit_path, period, town_unit_id, COUNT(*) FROM entries GROUP BY unit_path, period, town_unit_id"
        ))).all()
        tallied = (await session.execute(text("SELECT unit_path, period, town_unit_id, entries FROM entry_tallies"))).all()
    assert sorted(map(tuple, tallied)) == sorted(map(tuple, counted))
    assert sum(row[3] for row in tallied) == len(ledger["entries"])


async def test_a_towns_page_is_read_from_the_towns_index_and_its_total_from_the_tallies(world, stack, ledger):
    """A town whose entries are the oldest: newest first by the primary key, the planner would filter every
    later entry before the town's first; the page must come from the town's (town_unit_id, id) index."""
    database = stack.services["points"].runtime.database
    now = datetime.now(UTC)
    rows = [
        dict(id=f"{n:026d}", branch_unit_id=f"V{town}", branch_seq=n + 1, unit_path=f"/PLANC/PLANT{town}/V{town}/", town_unit_id=f"PLANT{town}",
             member_id=f"M{n % 50}", person_id=f"P{n % 50}", member_name="甲", rule_id="R", rule_code="R", rule_name="R",
             category="service", points=1, occurred_on=now.date(), period=f"2024-{n % 12 + 1:02d}", description="d", evidence="[]",
             recorded_by="t", source_kind="manual", created_at=now, prev_hash="0" * 64, hash="0" * 64)
        for town, span in ((0, range(0, 10_000)), (1, range(10_000, 20_000)))  # town 0 first: its entries are the oldest
        for n in span
    ]
    columns = ", ".join(rows[0])
    async with database.transaction() as session:
        await session.execute(text(f"INSERT INTO entries ({columns}) VALUES ({', '.join(':' + c for c in rows[0])})"), rows)
        await session.execute(text(
            "INSERT INTO entry_tallies (unit_path, period, town_unit_id, entries) "
            "SELECT unit_path, period, town_unit_id, COUNT(*) FROM entries WHERE town_unit_id LIKE 'PLANT%' GROUP BY unit_path, period, town_unit_id"
        ))
    await analyze(database, "entries")
    query = entries_page(within="town", member=False, branch=False, periods=False, category=False, source_kind=False)
    values = {"town_unit_id": "PLANT0", "limit": 50, "offset": 0}
    plan = await plan_of(database, query.rows.params(values))
    shown = "\n".join(plan)
    if database.is_sqlite:
        assert any("ix_entries_town_id" in line and "town_unit_id=?" in line for line in plan), shown
        assert not any(line.startswith("SCAN entries") for line in plan), shown
        assert any("entry_tallies" in line for line in plan), shown
    else:
        assert any("Index Only Scan Backward using ix_entries_town_id" in line for line in plan), shown
        assert not any("entries_pkey" in line and "Backward" in line for line in plan), shown
        assert any("on entry_tallies" in line for line in plan), shown
    async with database.session() as session:
        listed = (await session.execute(query.rows, values)).all()
    assert [row.id for row in listed] == [f"{n:026d}" for n in range(9_999, 9_949, -1)] and listed[0].total == 10_000
