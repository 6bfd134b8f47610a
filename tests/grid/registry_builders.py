"""Small factories for grid-svc tests: identities, valid ID numbers, a town of the report's shape."""

from __future__ import annotations

import uuid

import httpx

from harness import identity_headers
from shared.identity import Identity, Role
from shared.personal_data import id_number_check_digit

ADMIN = identity_headers()

# The report's town: 41 grids, 139 small grids, 431 micro grids, spread over 8 villages.
GRIDS_PER_VILLAGE = [6, 5, 5, 5, 5, 5, 5, 5]
SMALL_PER_GRID = [4] * 16 + [3] * 25
MICRO_PER_SMALL = [4] * 14 + [3] * 125


def headers_for(role: Role, scope_unit_id: str | None, subject: str | None = None) -> dict[str, str]:
    """Headers of a caller with `role` scoped to a unit."""
    return identity_headers(Identity(subject=subject or f"{role.value}-{uuid.uuid4().hex[:6]}", name="测试", role=role, scope_unit_id=scope_unit_id))


def id_number(serial: int, birth: str = "19650312") -> str:
    """A valid 18-character resident ID number (check digit computed)."""
    body = f"140828{birth}{serial % 1000:03d}"
    return body + id_number_check_digit(body)


def code() -> str:
    """A fresh unit or household code."""
    return f"C{uuid.uuid4().hex[:10]}"


async def create_unit(client: httpx.AsyncClient, level: str, parent_id: str | None, name: str = "单元", **extra) -> dict:
    """Create one unit as the platform admin."""
    body = {"code": code(), "name": name, "level": level, "parent_id": parent_id, **extra}
    response = await client.post("/api/v1/grid/units", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


async def create_chain(client: httpx.AsyncClient, **extra) -> dict[str, dict]:
    """A county with one unit of every level below it: county, town, village, grid, small_grid, micro_grid."""
    chain: dict[str, dict] = {}
    parent = None
    for level, name in [("county", "夏县"), ("town", "禹王镇"), ("village", "东村"), ("grid", "一网格"), ("small_grid", "一小网格"), ("micro_grid", "一微网格")]:
        chain[level] = await create_unit(client, level, parent["id"] if parent else None, name, **extra)
        parent = chain[level]
    return chain


async def build_report_town(client: httpx.AsyncClient, county_id: str) -> dict:
    """The report's town under `county_id` in one batch; returns the town and the created units in order."""
    items: list[dict] = [{"ref": "town", "code": code(), "name": "禹王镇", "level": "town", "parent_id": county_id}]
    grid_refs: list[str] = []
    for v, grids in enumerate(GRIDS_PER_VILLAGE):
        items.append({"ref": f"v{v}", "parent_ref": "town", "code": f"V{v:02d}", "name": f"第{v + 1}村", "level": "village"})
        for g in range(grids):
            ref = f"v{v}g{g}"
            grid_refs.append(ref)
            items.append({"ref": ref, "parent_ref": f"v{v}", "code": f"G{g:02d}", "name": f"{g + 1}网格", "level": "grid"})
    small_refs: list[str] = []
    for grid_ref, smalls in zip(grid_refs, SMALL_PER_GRID, strict=True):
        for s in range(smalls):
            ref = f"{grid_ref}s{s}"
            small_refs.append(ref)
            items.append({"ref": ref, "parent_ref": grid_ref, "code": f"S{s:02d}", "name": f"{s + 1}小网格", "level": "small_grid"})
    for small_ref, micros in zip(small_refs, MICRO_PER_SMALL, strict=True):
        for m in range(micros):
            items.append({"parent_ref": small_ref, "code": f"M{m:02d}", "name": f"{m + 1}微网格", "level": "micro_grid"})
    response = await client.post("/api/v1/grid/units:batch", json={"units": items}, headers=ADMIN)
    assert response.status_code == 201, response.text
    units = response.json()
    return {"town": units[0], "units": units}


async def register_household(client: httpx.AsyncClient, unit_id: str, headers: dict[str, str] = ADMIN, **extra) -> dict:
    """Register a household in a micro grid."""
    body = {"code": code(), "address": "禹王镇东村1号", "size": 3, "unit_id": unit_id, **extra}
    response = await client.post("/api/v1/grid/households", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def register_person(client: httpx.AsyncClient, headers: dict[str, str] = ADMIN, **body) -> dict:
    """Register a person (give household_id or unit_id)."""
    response = await client.post("/api/v1/grid/people", json={"name": "张三", **body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def listed_under(client: httpx.AsyncClient, path: str, unit_id: str, field: str) -> list[str]:
    """`field` of every item the list at `path` gives under `unit_id`, page by page (two a page); checks each page's
    total."""
    values, page = [], 1
    while True:
        body = (await client.get(path, params={"under": unit_id, "page": page, "per_page": 2}, headers=ADMIN)).json()
        if not body["items"]:
            assert body["total"] == len(values)
            return values
        values += [item[field] for item in body["items"]]
        page += 1
