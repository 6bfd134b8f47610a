"""Contract with the real grid-svc: what it publishes is what dispatch routes and credits by."""

from __future__ import annotations

import uuid

import pytest
from dispatch.world import ADMIN

from dispatch_svc.db import MIGRATIONS as DISPATCH_MIGRATIONS
from dispatch_svc.main import create_app as create_dispatch
from dispatch_svc.settings import DispatchSettings
from grid_svc.db import MIGRATIONS as GRID_MIGRATIONS
from grid_svc.main import create_app as create_grid
from grid_svc.settings import GridSettings
from harness import Databases, Stack, eventually


@pytest.fixture(scope="module")
async def stack(backend, broker, tmp_path_factory, clock):
    """grid-svc and dispatch-svc on one broker."""
    stack = Stack(broker.bootstrap_servers, Databases(backend, tmp_path_factory.mktemp("grid-dispatch")))
    await stack.start("grid", create_grid, GridSettings, GRID_MIGRATIONS)
    await stack.start("dispatch", create_dispatch, DispatchSettings, DISPATCH_MIGRATIONS, app_kwargs={"clock": clock}, overdue_sweep_interval_s=0)
    await stack.wait_consumers_assigned()
    yield stack
    await stack.close()


async def _post(client, path: str, body: dict) -> dict:
    response = await client.post(path, json=body, headers=ADMIN)
    assert response.status_code == 201, f"{path}: {response.text}"
    return response.json()


async def test_an_order_is_routed_to_the_cadre_grid_svc_linked_and_credits_his_membership(stack):
    grid = stack.services["grid"].client
    dispatch = stack.services["dispatch"].client
    parent = None
    units = {}
    for level, name in (("county", "夏县"), ("town", "禹王镇"), ("village", "禹王村"), ("grid", "一网格"), ("small_grid", "一小网格"), ("micro_grid", "一组")):
        body = {"code": f"{level[:2].upper()}{uuid.uuid4().hex[:6]}", "name": name, "level": level}
        if parent:
            body["parent_id"] = parent["id"]
        parent = units[level] = await _post(grid, "/api/v1/grid/units", body)
    household = await _post(grid, "/api/v1/grid/households", {"code": f"H{uuid.uuid4().hex[:8]}", "address": "禹王村1组3号", "unit_id": units["micro_grid"]["id"]})
    cadre = await _post(grid, "/api/v1/grid/people", {"name": "李书记", "unit_id": units["village"]["id"]})
    await _post(grid, "/api/v1/grid/party/members", {"person_id": cadre["id"], "unit_id": units["village"]["id"], "joined_on": "2015-07-01"})
    await _post(grid, "/api/v1/grid/assignments",
                {"unit_id": units["village"]["id"], "person_id": cadre["id"], "role": "cadre", "title": "包村干部", "starts_on": "2026-01-01"})
    await _post(grid, "/api/v1/grid/liaisons", {"kind": "cadre_household", "person_id": cadre["id"], "household_id": household["id"], "starts_on": "2026-01-01"})

    async def roster_ready():
        links = (await dispatch.get("/api/v1/dispatch/roster/liaisons", params={"household_id": household["id"]}, headers=ADMIN)).json()
        person = await dispatch.get(f"/api/v1/dispatch/roster/people/{cadre['id']}", headers=ADMIN)
        return links.get("total") == 1 and person.status_code == 200 and person.json()["party_member"]

    await eventually(roster_ready)
    kind = await _post(dispatch, "/api/v1/dispatch/service-types", {"code": f"help{uuid.uuid4().hex[:6]}", "name": "代办服务", "category": "other"})
    order = await _post(dispatch, "/api/v1/dispatch/orders", {"service_type_id": kind["id"], "household_id": household["id"], "description": "代办医保"})
    assert order["unit_id"] == units["micro_grid"]["id"]
    assert order["unit_path"] == units["micro_grid"]["path"]
    assert order["proposed_person_id"] == cadre["id"] and order["proposed_person_name"] == "李书记"
    for action in ("accept", "dispatch", "start", "complete"):
        response = await dispatch.post(f"/api/v1/dispatch/orders/{order['id']}/{action}", headers=ADMIN)
        assert response.status_code == 200, response.text
    done = response.json()
    assert done["served_by_person_id"] == cadre["id"] and done["served_by_party_member"] is True
