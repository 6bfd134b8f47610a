"""Roster import and export through the HTTP API: all-or-nothing with per-row errors, dry runs, idempotent
re-imports, GBK CSV, formula-safe exports and masked personal data."""

from __future__ import annotations

import csv
import io

import pytest
from grid.registry_builders import ADMIN, code, create_chain, headers_for, id_number
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from grid_svc.db import platform
from shared.identity import Role

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(sheets: dict[str, list[list]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


async def upload(client, files: list[tuple[str, bytes]], **params):
    parts = [("files", (name, data, XLSX if name.endswith(".xlsx") else "text/csv")) for name, data in files]
    return await client.post("/api/v1/grid/imports", files=parts, params=params, headers=ADMIN)


async def outbox_rows(grid) -> int:
    async with grid.runtime.database.session() as session:
        return await session.scalar(select(func.count()).select_from(platform.outbox))


@pytest.fixture(scope="module")
async def town(grid):
    return (await create_chain(grid.client))["town"]


def roster(town: dict, village_code: str, serial: int = 400) -> bytes:
    v = f"{town['full_code']}.{village_code}"
    g, s, m = f"{v}.G1", f"{v}.G1.S1", f"{v}.G1.S1.M1"
    return workbook(
        {
            "units": [
                ["code", "parent_code", "level", "name"],
                ["M1", s, "micro_grid", "一微网格"],  # children before parents: the importer orders them
                [village_code, town["full_code"], "village", "西村"],
                ["G1", v, "grid", "一网格"],
                ["S1", g, "small_grid", "一小网格"],
            ],
            "households": [
                ["code", "unit_code", "address", "size", "tags"],
                [f"{village_code}-H1", m, "西村1号", 2, "elderly_alone;low_income"],
                [f"{village_code}-H2", m, "-西村2号", 1, ""],  # a spreadsheet would read a leading - as a formula
            ],
            "people": [
                ["id_number", "name", "gender", "birth_date", "phone", "household_code", "relation", "unit_code"],
                [id_number(serial + 1, "19400101"), "孙奶奶", "female", "1940-01-01", "13800000001", f"{village_code}-H1", "head", ""],
                [id_number(serial + 2, "19700101"), "周书记", "male", "1970-01-01", "13800000002", "", "", g],
            ],
            "members": [["id_number", "org_unit_code", "joined_on", "status"], [id_number(serial + 2, "19700101"), g, "1995-07-01", "full"]],
            "roles": [["id_number", "unit_code", "role", "title", "starts_on"], [id_number(serial + 2, "19700101"), g, "grid_leader", "", "2024-01-01"]],
            "liaisons": [
                ["kind", "id_number", "household_code", "unit_code", "starts_on"],
                ["member_household", id_number(serial + 2, "19700101"), f"{village_code}-H1", "", "2024-01-01"],
            ],
        }
    )


async def test_dry_run_import_and_reimport_changes_nothing_the_second_time(grid, town):
    client = grid.client
    village_code = code()
    data = roster(town, village_code)
    dry = await upload(client, [("roster.xlsx", data)], dry_run=True)
    assert dry.status_code == 200, dry.text
    assert dry.json()["applied"] is False and dry.json()["sheets"]["units"]["created"] == 4
    listed = (await client.get("/api/v1/grid/units", params={"under": town["id"], "level": "village", "q": "西村"}, headers=ADMIN)).json()
    assert listed["total"] == 0

    applied = await upload(client, [("roster.xlsx", data)])
    assert applied.status_code == 200, applied.text
    report = applied.json()
    assert report["applied"] is True
    assert {k: v["created"] for k, v in report["sheets"].items()} == {"units": 4, "households": 2, "people": 2, "members": 1, "roles": 1, "liaisons": 1}
    households = (await client.get("/api/v1/grid/households", params={"q": village_code}, headers=ADMIN)).json()
    assert households["total"] == 2
    head = next(h for h in households["items"] if h["code"] == f"{village_code}-H1")
    assert head["head_name"] == "孙奶奶" and head["tags"] == ["elderly_alone", "low_income"]

    events_before = await outbox_rows(grid)
    again = await upload(client, [("roster.xlsx", data)])
    assert again.status_code == 200, again.text
    assert all(v["created"] == v["updated"] == 0 for v in again.json()["sheets"].values()), again.json()
    assert await outbox_rows(grid) == events_before  # no change, no event


async def test_any_bad_row_rejects_the_import_with_an_error_per_row(grid, town):
    client = grid.client
    chain = await create_chain(client)
    micro = chain["micro_grid"]["full_code"]
    good, bad_size, bad_unit = code(), code(), code()
    rows = [["code", "unit_code", "address", "size", "tags"], [good, micro, "好1号", 1, ""], [bad_size, micro, "坏1号", "many", ""], [bad_unit, "NO.SUCH", "坏2号", 1, "rich"]]
    response = await upload(client, [("households.csv", csv_bytes(rows))])
    assert response.status_code == 422 and response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "import_rejected"
    rows_with_errors = {(e["loc"][0], e["loc"][1]) for e in body["errors"]}
    assert rows_with_errors == {("households", 3), ("households", 4)}
    assert any(e["loc"][2] == "size" for e in body["errors"])
    assert (await client.get("/api/v1/grid/households", params={"q": good}, headers=ADMIN)).json()["total"] == 0  # the good row too

    dry = await upload(client, [("households.csv", csv_bytes(rows))], dry_run=True)
    assert dry.status_code == 422 and len(dry.json()["errors"]) >= 2


async def test_gbk_csv_is_read_and_binary_is_rejected_clearly(grid):
    client = grid.client
    chain = await create_chain(client)
    household = code()
    rows = [["code", "unit_code", "address", "size", "tags"], [household, chain["micro_grid"]["full_code"], "禹王镇东村八组", 4, "low_income"]]
    response = await upload(client, [("东村-households.csv", csv_bytes(rows, "gbk"))])
    assert response.status_code == 200, response.text
    stored = (await client.get("/api/v1/grid/households", params={"q": household}, headers=ADMIN)).json()["items"][0]
    assert stored["address"] == "禹王镇东村八组"
    garbage = await upload(client, [("households.csv", b"code,unit_code\n\xff\xfe\x81\x00\xff")])
    assert garbage.status_code == 422 and garbage.json()["code"] == "unsupported_encoding"
    unnamed = await upload(client, [("data.csv", csv_bytes(rows))])
    assert unnamed.status_code == 422 and unnamed.json()["code"] == "unknown_sheet"


async def test_exports_quote_formulas_mask_personal_data_and_round_trip(grid, town):
    client = grid.client
    village_code = code()
    assert (await upload(client, [("roster.xlsx", roster(town, village_code, serial=500))])).status_code == 200
    village = (await client.get("/api/v1/grid/units", params={"under": town["id"], "level": "village", "q": "西村"}, headers=ADMIN)).json()["items"]
    village_id = next(v["id"] for v in village if v["code"] == village_code)

    exported = await client.get("/api/v1/grid/exports", params={"under": village_id, "format": "csv", "sheet": "households"}, headers=ADMIN)
    assert exported.status_code == 200 and exported.content.startswith(b"\xef\xbb\xbf")
    cells = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert cells[0] == ["code", "unit_code", "address", "size", "tags"]
    assert any(row[2] == "'-西村2号" for row in cells[1:])

    people_csv = await client.get("/api/v1/grid/exports", params={"under": village_id, "format": "csv", "sheet": "people", "encoding": "gbk"}, headers=ADMIN)
    text = people_csv.content.decode("gbk")
    assert "孙奶奶" in text and id_number(501, "19400101") not in text and "138****0001" in text
    worker = headers_for(Role.GRID_WORKER, village_id)
    assert (await client.get("/api/v1/grid/exports", params={"under": village_id, "full_personal_data": True}, headers=worker)).status_code == 403

    full = await client.get("/api/v1/grid/exports", params={"under": village_id, "full_personal_data": True}, headers=ADMIN)
    assert full.status_code == 200
    book = load_workbook(io.BytesIO(full.content))
    assert book.sheetnames == ["units", "households", "people", "members", "roles", "liaisons"]
    formula_cell = next(c for row in book["households"].iter_rows() for c in row if "西村2号" in str(c.value))
    assert formula_cell.data_type == "s" and formula_cell.value.startswith("'")
    again = await upload(client, [("roster.xlsx", full.content)])
    assert again.status_code == 200, again.text
    assert all(v["created"] == v["updated"] == 0 for v in again.json()["sheets"].values()), again.json()
