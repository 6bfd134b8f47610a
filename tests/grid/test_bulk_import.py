"""The roster import's bulk path against the single-record use cases, row for row.

Two identical towns get the same roster (their own codes and ID numbers): one through the bulk path,
one with every row through its single-record use case. Reports, refusals (sheet, row, column,
message), the events written to the outbox (in order, ids replaced by their order of appearance)
and the exported registry must be the same. The roster mixes new records with rows that update,
move, repeat or refuse, so both the batched inserts and the hand-over to the use cases run.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid

import pytest
from grid.registry_builders import ADMIN, id_number
from sqlalchemy import func, select

from grid_svc.db import platform
from grid_svc.transfer.service import ImportRejected, export_rows, import_sheets
from grid_svc.transfer.sheets import read_file
from harness import PLATFORM_ADMIN
from shared.identity import Identity, Role

ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


def csv_file(name: str, rows: list[list]) -> tuple[str, bytes]:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return f"{name}.csv", buffer.getvalue().encode()


async def make_town(client, county_id: str) -> dict:
    """A town with two villages: V1 (grid G1 with micro grids M1, M2) and V2 (grid G1 with micro grid M1)."""
    town_code = f"T{uuid.uuid4().hex[:8]}"
    items = [
        {"ref": "town", "code": town_code, "name": "禹王镇", "level": "town", "parent_id": county_id},
        {"ref": "v1", "parent_ref": "town", "code": "V1", "name": "司马村", "level": "village"},
        {"ref": "v1g1", "parent_ref": "v1", "code": "G1", "name": "一网格", "level": "grid"},
        {"ref": "v1s1", "parent_ref": "v1g1", "code": "S1", "name": "一小网格", "level": "small_grid"},
        {"parent_ref": "v1s1", "code": "M1", "name": "一微网格", "level": "micro_grid"},
        {"parent_ref": "v1s1", "code": "M2", "name": "二微网格", "level": "micro_grid"},
        {"ref": "v2", "parent_ref": "town", "code": "V2", "name": "史庄村", "level": "village"},
        {"ref": "v2g1", "parent_ref": "v2", "code": "G1", "name": "一网格", "level": "grid"},
        {"ref": "v2s1", "parent_ref": "v2g1", "code": "S1", "name": "一小网格", "level": "small_grid"},
        {"parent_ref": "v2s1", "code": "M1", "name": "一微网格", "level": "micro_grid"},
    ]
    response = await client.post("/api/v1/grid/units:batch", json={"units": items}, headers=ADMIN)
    assert response.status_code == 201, response.text
    units = response.json()
    return {"town": units[0], "code": town_code}


class Roster:
    """One town's roster: its unit codes, household codes and ID numbers, and how to map them onto another town's."""

    def __init__(self, town: dict, serial: int) -> None:
        self.town, self.prefix, self.serial = town, town["code"], serial

    def unit(self, relative: str) -> str:
        return f"{self.town['town']['full_code']}.{relative}"

    def household(self, n: int) -> str:
        return f"{self.prefix}-H{n}"

    def person(self, n: int) -> str:
        return id_number(self.serial + n, "19700101")

    def translate(self, other: Roster, text: str) -> str:
        """`text` with this roster's codes and ID numbers replaced by the other's."""
        text = text.replace(self.town["town"]["full_code"], other.town["town"]["full_code"]).replace(self.prefix, other.prefix)
        for n in range(1, 20):
            text = text.replace(self.person(n), other.person(n))
        return text


def registration(r: Roster) -> list[tuple[str, bytes]]:
    """New records, with repeated, updating, moving and refusing-free rows mixed in."""
    m1, m2, v2m1 = r.unit("V1.G1.S1.M1"), r.unit("V1.G1.S1.M2"), r.unit("V2.G1.S1.M1")
    grid1, grid2, village1 = r.unit("V1.G1"), r.unit("V2.G1"), r.unit("V1")
    h = r.household
    p = r.person
    return [
        csv_file(
            "households",
            [
                ["code", "unit_code", "address", "size", "tags"],
                [h(1), m1, "司马村1号", 3, "elderly_alone"],
                [h(2), m2, "司马村2号", 2, ""],
                [h(3), v2m1, "史庄村3号", 1, "low_income;veteran"],
                [h(1), m1, "司马村1号院", 3, "elderly_alone"],  # the same code again: updated
                [h(4), m1, "司马村4号", 1, ""],
                [h(5), m2, "司马村5号", 1, ""],
                [h(5), m1, "司马村5号", 1, ""],  # moved to another micro grid
            ],
        ),
        csv_file(
            "people",
            [
                ["id_number", "name", "gender", "birth_date", "phone", "household_code", "relation", "unit_code"],
                [p(1), "张一", "male", "1970-01-01", "13800000001", h(1), "head", ""],
                [p(2), "李二", "female", "1972-01-01", "", h(1), "spouse", ""],
                [p(3), "张三", "", "", "", h(1), "child", ""],
                [p(4), "王四", "male", "", "13800000004", h(2), "head", ""],
                [p(5), "赵五", "female", "", "", h(3), "head", ""],
                [p(6), "钱六", "male", "", "", h(3), "head", ""],  # a second head: the first stays head
                [p(7), "孙七", "male", "1975-05-05", "13800000007", "", "", village1],  # a cadre, no household
                [p(2), "李二", "female", "1972-01-01", "13800000002", h(1), "spouse", ""],  # corrected phone
                [p(8), "周八", "", "", "", h(4), "", ""],
                [p(8), "周八", "", "", "", h(2), "", ""],  # moved to another household
                [p(9), "吴九", "male", "", "", h(5), "head", ""],
                [p(10), "郑十", "female", "", "", h(5), "spouse", ""],
            ],
        ),
        csv_file(
            "members",
            [
                ["id_number", "org_unit_code", "joined_on", "status"],
                [p(1), grid1, "2000-07-01", "full"],
                [p(4), grid1, "2023-01-01", "probationary"],
                [p(1), grid1, "2000-07-01", "full"],  # repeated: unchanged
                [p(4), grid1, "2023-01-01", "full"],  # status changed
                [p(7), village1, "1998-07-01", "full"],
                [p(5), grid2, "2010-07-01", ""],
            ],
        ),
        csv_file(
            "roles",
            [
                ["id_number", "unit_code", "role", "title", "starts_on"],
                [p(1), grid1, "grid_leader", "网格长", "2024-01-01"],
                [p(7), village1, "cadre", "包村干部", "2024-01-01"],
            ],
        ),
        csv_file(
            "liaisons",
            [
                ["kind", "id_number", "household_code", "unit_code", "starts_on"],
                ["member_household", p(1), h(1), "", "2024-01-01"],
                ["member_household", p(1), h(2), "", ""],
                ["member_household", p(1), h(1), "", "2024-01-01"],  # repeated: unchanged
                ["cadre_grid", p(7), "", grid1, "2024-01-01"],
                ["member_household", p(5), h(3), "", "2024-01-01"],
                ["cadre_household", p(7), h(4), "", "2024-01-01"],
                ["member_household", p(4), h(4), "", "2024-01-01"],
                ["member_household", p(1), h(5), "", "2024-01-01"],
            ],
        ),
    ]


def follow_up(r: Roster) -> list[tuple[str, bytes]]:
    """A later roster: people registered before take new roles and links, beside a new household."""
    m1, grid1, grid2, village2 = r.unit("V1.G1.S1.M1"), r.unit("V1.G1"), r.unit("V2.G1"), r.unit("V2")
    h = r.household
    p = r.person
    return [
        csv_file("households", [["code", "unit_code", "address", "size", "tags"], [h(6), m1, "司马村6号", 2, "disabled"]]),
        csv_file(
            "people",
            [
                ["id_number", "name", "gender", "birth_date", "phone", "household_code", "relation", "unit_code"],
                [p(11), "冯十一", "male", "", "", h(6), "head", ""],
                [p(4), "王四", "male", "", "13800000004", h(2), "head", ""],  # unchanged
            ],
        ),
        csv_file(
            "roles",
            [
                ["id_number", "unit_code", "role", "title", "starts_on"],
                [p(4), village2, "cadre", "包村干部", "2024-02-01"],
                [p(5), grid2, "grid_worker", "", "2024-02-01"],
                [p(2), grid2, "grid_worker", "", "2024-02-01"],  # the grid has its worker already
                [p(1), grid1, "grid_leader", "网格长", "2024-01-01"],  # unchanged
            ],
        ),
        csv_file(
            "liaisons",
            [
                ["kind", "id_number", "household_code", "unit_code", "starts_on"],
                ["cadre_grid", p(4), "", grid2, "2024-02-01"],
                ["cadre_household", p(4), h(3), "", "2024-02-01"],
                ["cadre_household", p(1), h(3), "", "2024-02-01"],  # not a cadre
                ["member_household", p(1), h(6), "", "2024-02-01"],
            ],
        ),
    ]


def refusals(r: Roster) -> list[tuple[str, bytes]]:
    """Rows that break rules of every sheet, beside good ones."""
    m1, grid1 = r.unit("V1.G1.S1.M1"), r.unit("V1.G1")
    h = r.household
    p = r.person
    return [
        csv_file(
            "households",
            [
                ["code", "unit_code", "address", "size", "tags"],
                [h(11), m1, "好1号", 1, ""],
                [h(12), m1, "坏1号", "many", ""],
                [h(13), "NO.SUCH", "坏2号", 1, ""],
                [h(14), grid1, "坏3号", 1, ""],  # a grid takes no households
                [h(15), m1, "坏4号", 1, "rich"],
            ],
        ),
        csv_file(
            "people",
            [
                ["id_number", "name", "gender", "birth_date", "phone", "household_code", "relation", "unit_code"],
                [p(11), "好人", "", "", "", h(11), "head", ""],
                ["", "无号", "", "", "", h(11), "", ""],
                ["140828197001010000", "错号", "", "", "", h(11), "", ""],
                [p(12), "无户", "", "", "", "NOPE-1", "", ""],
                [p(13), "无处", "", "", "", "", "", ""],
                [p(14), "关系", "", "", "", h(11), "cousin", ""],
                [p(15), "", "", "", "", h(11), "", ""],
                [p(17), "未来", "", "", "", h(11), "", ""],
            ],
        ),
        csv_file(
            "members",
            [
                ["id_number", "org_unit_code", "joined_on", "status"],
                [p(11), grid1, "2000-01-01", "full"],
                [p(16), grid1, "2000-01-01", "full"],  # nobody
                [p(11), m1, "2000-01-01", "full"],  # no organisation on a micro grid; already a member elsewhere
                [p(17), grid1, "2999-01-01", "full"],
                [p(11), grid1, "2000-01-01", "honorary"],
            ],
        ),
        csv_file(
            "liaisons",
            [
                ["kind", "id_number", "household_code", "unit_code", "starts_on"],
                ["member_household", p(11), h(11), "", ""],
                ["member_household", p(11), "NOPE-2", "", ""],
                ["friendship", p(11), h(11), "", ""],
                ["member_household", p(12), h(11), "", ""],
            ],
        ),
    ]


async def outbox_seq(grid) -> int:
    async with grid.runtime.database.session() as session:
        return await session.scalar(select(func.coalesce(func.max(platform.outbox.c.seq), 0)))


async def events_since(grid, seq: int) -> list[tuple[str, dict]]:
    async with grid.runtime.database.session() as session:
        rows = await session.execute(
            select(platform.outbox.c.event_type, platform.outbox.c.payload).where(platform.outbox.c.seq > seq).order_by(platform.outbox.c.seq)
        )
        return [(t, json.loads(p)) for t, p in rows.all()]


def anonymous(events: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """Events with every id replaced by its order of first appearance (the two towns' ids differ)."""
    labels: dict[str, str] = {}

    def label(match: re.Match) -> str:
        return labels.setdefault(match.group(0), f"#{len(labels)}")

    def walk(value):  # noqa: ANN001, ANN202 - JSON
        if isinstance(value, str):
            return ULID.sub(label, value)
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value

    return [(t, walk(p)) for t, p in events]


async def run_import(grid, identity: Identity, files: list[tuple[str, bytes]], *, bulk: bool, dry_run: bool = False) -> dict:
    sheets: dict = {}
    for name, data in files:
        for sheet, rows in read_file(name, data).items():
            sheets.setdefault(sheet, []).extend(rows)
    before = await outbox_seq(grid)
    errors: list = []
    try:
        async with grid.runtime.database.transaction() as session:
            report = await import_sheets(session, identity=identity, sheets=sheets, dry_run=dry_run, bulk=bulk)
    except ImportRejected as rejected:
        report, errors = rejected.report, rejected.errors
    return {
        "report": report.model_dump(),
        "errors": [(e.sheet, e.row, e.column, e.message) for e in errors],
        "events": anonymous(await events_since(grid, before)),
    }


async def exported(grid, roster: Roster) -> dict:
    async with grid.runtime.database.session() as session:
        rows = await export_rows(
            session, identity=PLATFORM_ADMIN, under_id=roster.town["town"]["id"], sheets=["units", "households", "people", "members", "roles", "liaisons"], full=True
        )
    return json.loads(json.dumps(rows, sort_keys=True))


@pytest.fixture(scope="module")
async def towns(grid):
    county = await grid.client.post("/api/v1/grid/units", json={"code": f"C{uuid.uuid4().hex[:6]}", "name": "夏县", "level": "county"}, headers=ADMIN)
    assert county.status_code == 201, county.text
    bulk = Roster(await make_town(grid.client, county.json()["id"]), serial=100)
    one_by_one = Roster(await make_town(grid.client, county.json()["id"]), serial=300)
    return bulk, one_by_one


async def test_a_roster_registers_the_same_records_and_events_in_bulk_as_row_by_row(grid, towns):
    bulk, one_by_one = towns
    dry = await run_import(grid, PLATFORM_ADMIN, registration(bulk), bulk=True, dry_run=True)
    dry_reference = await run_import(grid, PLATFORM_ADMIN, registration(one_by_one), bulk=False, dry_run=True)
    assert dry["report"] == dry_reference["report"] and dry["report"]["applied"] is False
    assert dry["events"] == dry_reference["events"] == []

    fast = await run_import(grid, PLATFORM_ADMIN, registration(bulk), bulk=True)
    reference = await run_import(grid, PLATFORM_ADMIN, registration(one_by_one), bulk=False)
    assert fast["errors"] == reference["errors"] == []
    assert fast["report"] == reference["report"]
    counts = fast["report"]["sheets"]
    assert counts["households"] == {"created": 5, "updated": 2, "unchanged": 0}
    assert counts["people"] == {"created": 10, "updated": 2, "unchanged": 0}
    assert counts["members"] == {"created": 4, "updated": 1, "unchanged": 1}
    assert counts["liaisons"] == {"created": 7, "updated": 0, "unchanged": 1}
    assert fast["events"] == reference["events"]
    types = [t.rsplit(".", 2)[-2] for t, _ in fast["events"]]
    assert types.count("registered") == 5 and types.count("joined") == 10 + 1 + 4 and types.count("linked") == 7
    # Both paths give a household its town, which a list under the town reads.
    under_town = [
        (await grid.client.get("/api/v1/grid/households", params={"under": r.town["town"]["id"], "per_page": 200}, headers=ADMIN)).json()
        for r in (bulk, one_by_one)
    ]
    assert under_town[0]["total"] == under_town[1]["total"] == len(under_town[0]["items"]) >= 5
    # And a person theirs, which the people list under the town reads.
    people_under_town = [
        (await grid.client.get("/api/v1/grid/people", params={"under": r.town["town"]["id"], "per_page": 200}, headers=ADMIN)).json()
        for r in (bulk, one_by_one)
    ]
    assert people_under_town[0]["total"] == people_under_town[1]["total"] == len(people_under_town[0]["items"]) >= 10

    mine, theirs = await exported(grid, bulk), await exported(grid, one_by_one)
    assert json.loads(bulk.translate(one_by_one, json.dumps(mine, sort_keys=True))) == theirs
    households = {h["code"]: h for h in mine["households"]}
    assert households[bulk.household(1)]["address"] == "司马村1号院"
    assert households[bulk.household(5)]["unit_code"] == bulk.unit("V1.G1.S1.M1")
    people = {p["id_number"]: p for p in mine["people"]}
    assert people[bulk.person(8)]["household_code"] == bulk.household(2)
    assert people[bulk.person(2)]["phone"] == "13800000002"
    heads = {p["household_code"]: p["id_number"] for p in mine["people"] if p["relation"] == "head"}
    assert heads[bulk.household(3)] == bulk.person(5)

    later = await run_import(grid, PLATFORM_ADMIN, follow_up(bulk), bulk=True)
    later_reference = await run_import(grid, PLATFORM_ADMIN, follow_up(one_by_one), bulk=False)
    assert [(s, r, c, bulk.translate(one_by_one, m)) for s, r, c, m in later["errors"]] == later_reference["errors"]
    assert [(s, r) for s, r, _, _ in later["errors"]] == [("roles", 4), ("liaisons", 4)]
    fixed = [(name, data) for name, data in follow_up(bulk)]
    fixed_reference = [(name, data) for name, data in follow_up(one_by_one)]
    for files, roster in ((fixed, bulk), (fixed_reference, one_by_one)):
        # Without the two refused rows the follow-up applies.
        for n, (name, data) in enumerate(files):
            lines = data.decode().splitlines(keepends=True)
            if name == "roles.csv":
                lines = [line for line in lines if roster.person(2) not in line]
            if name == "liaisons.csv":
                lines = [line for line in lines if not (roster.person(1) in line and "cadre_household" in line)]
            files[n] = (name, "".join(lines).encode())
    later = await run_import(grid, PLATFORM_ADMIN, fixed, bulk=True)
    later_reference = await run_import(grid, PLATFORM_ADMIN, fixed_reference, bulk=False)
    assert later["errors"] == later_reference["errors"] == []
    assert later["report"] == later_reference["report"]
    assert later["report"]["sheets"]["roles"] == {"created": 2, "updated": 0, "unchanged": 1}
    assert later["report"]["sheets"]["liaisons"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert later["events"] == later_reference["events"]
    mine, theirs = await exported(grid, bulk), await exported(grid, one_by_one)
    assert json.loads(bulk.translate(one_by_one, json.dumps(mine, sort_keys=True))) == theirs

    again = await run_import(grid, PLATFORM_ADMIN, registration(bulk), bulk=True)
    again_reference = await run_import(grid, PLATFORM_ADMIN, registration(one_by_one), bulk=False)
    assert again["report"] == again_reference["report"]
    assert again["events"] == again_reference["events"]


async def test_refused_rows_are_the_same_in_bulk_as_row_by_row_and_nothing_is_kept(grid, towns):
    bulk, one_by_one = towns
    before = await outbox_seq(grid)
    fast = await run_import(grid, PLATFORM_ADMIN, refusals(bulk), bulk=True)
    reference = await run_import(grid, PLATFORM_ADMIN, refusals(one_by_one), bulk=False)
    assert fast["report"]["applied"] is False
    masked = re.compile(r"\d{4}\*+\w{4}")  # masked ID numbers of the two rosters differ in their last digits

    def same(errors: list, roster: Roster | None = None) -> list:
        return [(s, r, c, masked.sub("ID", roster.translate(one_by_one, m) if roster else m)) for s, r, c, m in errors]

    assert same(fast["errors"], bulk) == same(reference["errors"])
    assert {(s, r) for s, r, _, _ in fast["errors"]} == {
        ("households", 3), ("households", 4), ("households", 5), ("households", 6),
        ("people", 3), ("people", 4), ("people", 5), ("people", 6), ("people", 7), ("people", 8),
        ("members", 3), ("members", 4), ("members", 5), ("members", 6),
        ("liaisons", 3), ("liaisons", 4), ("liaisons", 5),
    }
    assert await outbox_seq(grid) == before
    listed = await grid.client.get("/api/v1/grid/households", params={"q": bulk.household(11)}, headers=ADMIN)
    assert listed.json()["total"] == 0


async def test_the_bulk_path_keeps_to_the_callers_scope(grid, towns):
    bulk, one_by_one = towns
    await run_import(grid, PLATFORM_ADMIN, registration(one_by_one), bulk=False)  # the other town's records exist, whatever ran before
    town_admin = Identity(subject="town-admin", name="镇管理员", role=Role.TOWN_ADMIN, scope_unit_id=bulk.town["town"]["id"])
    # The other town's micro grid, household and person do not exist for this caller.
    files = [
        csv_file("households", [["code", "unit_code", "address", "size", "tags"], [f"{bulk.prefix}-H30", one_by_one.unit("V1.G1.S1.M1"), "外1号", 1, ""]]),
        csv_file(
            "people",
            [
                ["id_number", "name", "gender", "birth_date", "phone", "household_code", "relation", "unit_code"],
                [bulk.person(19), "外人", "", "", "", one_by_one.household(1), "", ""],
            ],
        ),
        csv_file("members", [["id_number", "org_unit_code", "joined_on", "status"], [one_by_one.person(3), bulk.unit("V1.G1"), "2000-01-01", ""]]),
    ]
    fast = await run_import(grid, town_admin, files, bulk=True)
    reference = await run_import(grid, town_admin, files, bulk=False)
    assert fast["errors"] == reference["errors"]
    assert [(s, r, m) for s, r, _, m in fast["errors"]] == [
        ("households", 2, f"no unit with code {one_by_one.unit('V1.G1.S1.M1')} in your scope"),
        ("people", 2, "household not found"),
        ("members", 2, "person not found"),
    ]


async def test_a_roster_of_new_records_never_falls_back_to_the_single_record_use_cases(grid, towns, monkeypatch):
    county_id = towns[0].town["town"]["parent_id"]
    roster = Roster(await make_town(grid.client, county_id), serial=500)
    m1, grid1, village1 = roster.unit("V1.G1.S1.M1"), roster.unit("V1.G1"), roster.unit("V1")
    h, p = roster.household, roster.person
    files = [
        csv_file("households", [["code", "unit_code", "address", "size", "tags"], [h(1), m1, "新1号", 2, ""], [h(2), m1, "新2号", 1, ""]]),
        csv_file(
            "people",
            [
                ["id_number", "name", "gender", "birth_date", "phone", "household_code", "relation", "unit_code"],
                [p(1), "新一", "male", "", "", h(1), "head", ""],
                [p(2), "新二", "female", "", "", h(1), "spouse", ""],
                [p(3), "新三", "male", "", "", h(2), "head", ""],
                [p(4), "新四", "male", "", "", "", "", village1],
            ],
        ),
        csv_file("members", [["id_number", "org_unit_code", "joined_on", "status"], [p(1), grid1, "2001-07-01", ""], [p(4), village1, "1999-07-01", ""]]),
        csv_file(
            "roles",
            [["id_number", "unit_code", "role", "title", "starts_on"], [p(1), grid1, "grid_leader", "", "2024-01-01"], [p(4), village1, "cadre", "", "2024-01-01"]],
        ),
        csv_file(
            "liaisons",
            [
                ["kind", "id_number", "household_code", "unit_code", "starts_on"],
                ["member_household", p(1), h(1), "", "2024-01-01"],
                ["member_household", p(1), h(2), "", "2024-01-01"],
                ["cadre_grid", p(4), "", grid1, "2024-01-01"],
                ["cadre_household", p(4), h(2), "", "2024-01-01"],
            ],
        ),
    ]

    def refuse(*_args, **_kwargs):
        raise AssertionError("a new record went to its single-record use case")

    from grid_svc.transfer import service

    for name in ("household_row", "person_row", "member_row", "role_row", "liaison_row"):
        monkeypatch.setattr(service._Importer, name, refuse)
    result = await run_import(grid, PLATFORM_ADMIN, files, bulk=True)
    assert result["errors"] == []
    assert {sheet: counts["created"] for sheet, counts in result["report"]["sheets"].items()} == {
        "households": 2, "people": 4, "members": 2, "roles": 2, "liaisons": 4,
    }
