"""Composed views, the town dashboard and public notice pages, whole and with a service stopped."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import uuid
from datetime import date
from typing import Any

import httpx
import pytest
import uvicorn

from harness import eventually
from shared.local_time import today
from shared.testing import free_port

ADMIN = {"username": "admin", "password": "admin12345"}
DOMAINS = ("grid", "points", "dispatch", "legal")
RULES_TEXT = "一、爱党爱国，遵纪守法。\n二、邻里和睦，互帮互助。"


class SlowTransport(httpx.AsyncBaseTransport):
    """A service that takes far longer to answer than the gateway waits."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return await self.inner.handle_async_request(request)


async def _post(client: httpx.AsyncClient, headers: dict, path: str, body: dict) -> dict:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), f"{path}: {response.text}"
    return response.json()


@pytest.fixture(scope="module")
async def world(backend, broker, tmp_path_factory, kit):
    stack = await kit.start_services(backend, broker, tmp_path_factory)
    gateway = await kit.start_gateway(stack, "gateway", kit.recording_transports(stack))
    await stack.wait_consumers_assigned()
    client = gateway.client
    admin = await kit.login(client, **ADMIN)
    # The platform's day (Asia/Shanghai) when the records are made: the tests ask for that day, so a run that
    # passes midnight in Shanghai between the module's import and its tests still finds them.
    day = today()
    county = await kit.create_unit(client, admin, "county", None, "夏县")
    town = await kit.create_unit(client, admin, "town", county, "禹王镇")
    village = await kit.create_unit(client, admin, "village", town, "青龙村")
    grid = await kit.create_unit(client, admin, "grid", village, "一网格")
    small = await kit.create_unit(client, admin, "small_grid", grid, "一小网格")
    micro = await kit.create_unit(client, admin, "micro_grid", small, "一微网格")
    other_town = await kit.create_unit(client, admin, "town", county, "庙前镇")
    other_village = await kit.create_unit(client, admin, "village", other_town, "西村")

    household = await _post(client, admin, "/api/v1/grid/households",
                            {"code": f"H{uuid.uuid4().hex[:6]}", "address": "青龙村一组 3 号", "size": 3, "unit_id": micro["id"]})
    person = await _post(client, admin, "/api/v1/grid/people",
                         {"name": "王建国", "household_id": household["id"], "relation": "head", "phone": "13812341234"})
    member = await _post(client, admin, "/api/v1/grid/party/members",
                         {"person_id": person["id"], "unit_id": village["id"], "joined_on": "2001-07-01"})
    for role in ("grid_leader", "grid_worker", "party_member"):
        await _post(client, admin, "/api/v1/grid/assignments", {"unit_id": grid["id"], "person_id": person["id"], "role": role})
    await _post(client, admin, f"/api/v1/grid/villages/{village['id']}/rules/revisions",
                {"title": "青龙村村规民约", "text": RULES_TEXT, "effective_on": "2026-01-01"})
    await _post(client, admin, f"/api/v1/grid/villages/{village['id']}/rules/revisions/1/publish", {})

    async def replicated() -> bool:
        member_known = (await client.get(f"/api/v1/points/members/{member['id']}", headers=admin)).status_code == 200
        village_known = (await client.get(f"/api/v1/legal/units/{village['id']}", headers=admin)).status_code == 200
        return member_known and village_known

    await eventually(replicated)
    adviser = await _post(client, admin, "/api/v1/legal/advisers",
                          {"name": "李律师", "firm": "夏县法律服务所", "unit_id": town["id"]})
    affair = await _post(client, admin, "/api/v1/legal/legal-affairs",
                         {"adviser_id": adviser["id"], "unit_id": village["id"], "kind": "contract_review",
                          "title": "土地流转合同审查", "opened_on": day.isoformat()})
    await _post(client, admin, f"/api/v1/legal/legal-affairs/{affair['id']}/close",
                {"outcome": "追回欠款", "closed_on": day.isoformat(), "recovered_fen": 6_000_000})
    rule = await _post(client, admin, "/api/v1/points/rules",
                       {"town_unit_id": town["id"], "code": "MED1", "name": "参与矛盾纠纷调解", "points": 5,
                        "category": "dispute_mediation", "active_from": "2020-01-01"})
    entry = await _post(client, admin, "/api/v1/points/entries",
                        {"member_id": member["id"], "rule_id": rule["id"], "occurred_on": day.isoformat(), "description": "调解邻里纠纷"})
    notice = await _post(client, admin, "/api/v1/points/notices", {"branch_unit_id": village["id"], "period": f"{day:%Y-%m}"})
    # A dispute in another town that the member helped mediate, and one they had no part in.
    parties = [{"role": "applicant", "name": "赵甲"}, {"role": "respondent", "name": "钱乙"}]
    mediated = await _post(client, admin, "/api/v1/legal/cases", {
        "unit_id": other_village["id"], "category": "neighbour", "facts": "宅基地界线", "points_in_dispute": "围墙位置",
        "parties": parties,
        "mediators": [{"name": "王建国", "affiliation": "party_member_volunteer", "person_id": person["id"]}],
    })
    await _post(client, admin, "/api/v1/legal/cases", {
        "unit_id": other_village["id"], "category": "family", "facts": "赡养", "points_in_dispute": "赡养费",
        "parties": parties, "mediators": [{"name": "孙调解", "affiliation": "full_time_mediator"}],
    })
    yield {
        "kit": kit, "stack": stack, "gateway": gateway, "client": client, "admin": admin, "entry": entry, "notice": notice,
        "units": {"county": county, "town": town, "village": village, "grid": grid, "micro": micro,
                  "other_town": other_town, "other_village": other_village},
        "household": household, "person": person, "member": member, "mediated_case": mediated, "today": day,
    }
    await stack.close()


def _views(world) -> list[tuple[str, str, dict]]:
    units, day = world["units"], world["today"]
    return [
        ("overview", f"/api/v1/views/units/{units['village']['id']}/overview", {}),
        ("profile", f"/api/v1/views/members/{world['member']['id']}/profile", {}),
        ("dashboard", f"/api/v1/dashboards/towns/{units['town']['id']}", {"from": f"{day.year}-01-01", "to": day.isoformat()}),
    ]


async def test_unit_overview_composes_all_four_services(world):
    client, units = world["client"], world["units"]
    response = await client.get(f"/api/v1/views/units/{units['grid']['id']}/overview", headers=world["admin"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["degraded"] == []
    assert body["unit"]["name"] == "一网格"
    assert body["units_below"]["small_grid"] == 1 and body["units_below"]["micro_grid"] == 1
    assert {a["role"] for a in body["team"]} == {"grid_leader", "grid_worker", "party_member"}
    assert body["team_compliance"] == {"grid_leader": 1, "grid_worker": 1, "grid_assistant": 0, "others": 1,
                                       "complete": False, "missing_roles": ["grid_assistant"]}
    assert body["households"] == 1
    assert body["compliance"]["households"] == 1
    assert body["open_orders"] == {"total": 0, "items": []}
    assert body["overdue_orders"]["total"] == 0
    assert body["cases_in_progress"]["total"] == 0

    village = (await client.get(f"/api/v1/views/units/{units['village']['id']}/overview", headers=world["admin"])).json()
    assert [m["name"] for m in village["top_members"]] == ["王建国"]
    assert village["top_members"][0]["points"] == 5

    # Cases in progress: one page over the three statuses, the same as legal-svc lists them.
    other = (await client.get(f"/api/v1/views/units/{units['other_village']['id']}/overview", headers=world["admin"])).json()
    listed = await client.get("/api/v1/legal/cases", headers=world["admin"], params=[
        ("under", units["other_village"]["id"]), ("status", "registered"), ("status", "accepted"), ("status", "mediating"),
        ("per_page", 10)])
    assert other["cases_in_progress"] == {"total": 2, "items": listed.json()["items"]}
    assert world["mediated_case"]["id"] in [c["id"] for c in other["cases_in_progress"]["items"]]


async def test_composed_views_keep_to_the_callers_scope(world, kit):
    client, units = world["client"], world["units"]
    secretary = await kit.create_user(client, world["admin"], "village_secretary", units["other_village"])
    headers = secretary["headers"]
    assert (await client.get(f"/api/v1/views/units/{units['village']['id']}/overview", headers=headers)).status_code == 404
    assert (await client.get(f"/api/v1/views/members/{world['member']['id']}/profile", headers=headers)).status_code == 404
    assert (await client.get(f"/api/v1/dashboards/towns/{units['town']['id']}", headers=headers)).status_code == 404
    own = await client.get(f"/api/v1/views/units/{units['other_village']['id']}/overview", headers=headers)
    assert own.status_code == 200 and own.json()["households"] == 0
    assert (await client.get(f"/api/v1/views/units/{units['village']['id']}/overview")).status_code == 401


async def test_member_profile_gathers_roles_liaisons_points_and_work(world):
    client = world["client"]
    response = await client.get(f"/api/v1/views/members/{world['member']['id']}/profile", headers=world["admin"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["member"]["name"] == "王建国"
    assert {r["role"] for r in body["roles"]} == {"grid_leader", "grid_worker", "party_member"}
    assert body["liaisons"] == []
    assert body["balance"]["points"] == 5 and body["balance"]["entries"] == 1
    assert body["rating"] is None  # none computed yet, which is no failure
    assert [e["id"] for e in body["recent_entries"]] == [world["entry"]["id"]]
    assert body["orders_served"] == {"total": 0, "items": []}
    assert body["lectures_given"] == {"total": 0, "items": []}
    assert body["mediations"]["total"] == 1
    assert [c["id"] for c in body["mediations"]["items"]] == [world["mediated_case"]["id"]]
    assert body["degraded"] == []


async def test_town_dashboard_answers_every_figure_by_name(world):
    client, town, day = world["client"], world["units"]["town"], world["today"]
    response = await client.get(
        f"/api/v1/dashboards/towns/{town['id']}", params={"from": f"{day.year}-01-01", "to": day.isoformat()}, headers=world["admin"]
    )
    assert response.status_code == 200, response.text
    body = response.json()
    figures = body["figures"]
    for name in ("grids", "small_grids", "micro_grids", "households", "party_members", "liaison_coverage", "lecture_sessions",
                 "lecture_attendees", "activities", "orders", "orders_completed", "response_rate", "resolution_rate",
                 "satisfaction_rate", "legal_consultations", "legal_affairs", "disputes_mediated", "adviser_recovered_yuan",
                 "enforcement_campaigns", "publicity_teams", "patrol_recovered_yuan", "points_entries"):
        assert name in figures, name
    assert (figures["grids"], figures["small_grids"], figures["micro_grids"]) == (1, 1, 1)
    assert figures["households"] == 1 and figures["party_members"] == 1
    assert figures["liaison_coverage"] == 0
    assert figures["points_entries"] == 1
    assert figures["legal_affairs"] == 1 and figures["legal_consultations"] == 0
    assert figures["adviser_recovered_yuan"] == 60000.0  # 6,000,000 fen
    assert figures["patrol_recovered_yuan"] == 0.0
    assert (figures["lecture_sessions"], figures["orders"], figures["orders_completed"]) == (0, 0, 0)
    assert figures["satisfaction_rate"] is None  # nothing to divide: no evaluations
    assert body["from"] == f"{day.year}-01-01" and body["to"] == day.isoformat()
    assert body["degraded"] == []
    assert body["unit"]["name"] == "禹王镇"

    backwards = await client.get(f"/api/v1/dashboards/towns/{town['id']}", params={"from": "2026-05-01", "to": "2026-04-01"},
                                 headers=world["admin"])
    assert backwards.status_code == 422
    village = await client.get(f"/api/v1/dashboards/towns/{world['units']['village']['id']}", headers=world["admin"])
    assert village.status_code == 422 and village.json()["code"] == "not_a_town"


@pytest.mark.parametrize("stopped", DOMAINS)
async def test_every_composed_view_degrades_when_a_service_is_stopped(world, stopped):
    kit, stack = world["kit"], world["stack"]
    transports = kit.recording_transports(stack)
    del transports[stopped]
    gateway = await kit.start_gateway(stack, f"gateway-no-{stopped}", transports, **{f"{stopped}_url": f"http://127.0.0.1:{free_port()}"})
    headers = await kit.login(gateway.client, **ADMIN)
    reasons: set[str] = set()
    for name, path, params in _views(world):
        response = await gateway.client.get(path, params=params, headers=headers)
        assert (name, response.status_code) == (name, 200), response.text
        degraded = response.json()["degraded"]
        from_stopped = {d["reason"] for d in degraded if d["service"] == stopped}
        # Every view names the stopped service (a section it does not offer yet counts as missing too).
        assert from_stopped and from_stopped <= {"unreachable", "circuit open", "not provided"}, (name, degraded)
        reasons |= from_stopped
        body = response.json()
        for entry in degraded:
            section = entry["section"]
            value = body["figures"][section] if name == "dashboard" and section in body["figures"] else body.get(section)
            assert value is None, (name, section)
    assert "unreachable" in reasons
    if stopped == "points":
        page = await gateway.client.get(f"/notices/points/{world['units']['village']['id']}/{world['today']:%Y-%m}")
        assert page.status_code == 503 and "服务暂时不可用" in page.text
    if stopped == "grid":
        page = await gateway.client.get(f"/notices/villages/{world['units']['village']['id']}/rules")
        assert page.status_code == 503 and "Retry-After" in page.headers


async def test_a_slow_service_is_cut_off_at_the_timeout_and_its_breaker_opens(world):
    kit, stack = world["kit"], world["stack"]
    transports = kit.recording_transports(stack)
    transports["legal"] = SlowTransport(stack.services["legal"].app)
    gateway = await kit.start_gateway(stack, "gateway-slow-legal", transports, view_timeout_s=0.3,
                                      breaker_failure_threshold=2, breaker_reset_s=60)
    headers = await kit.login(gateway.client, **ADMIN)
    overview_path = f"/api/v1/views/units/{world['units']['village']['id']}/overview"
    # The overview asks legal-svc once: two slow answers in a row open its breaker.
    for _ in range(2):
        assert gateway.runtime.upstreams.breakers["legal"].state == "closed"
        slow = await asyncio.wait_for(gateway.client.get(overview_path, headers=headers), timeout=20)
        assert slow.status_code == 200
        assert [(d["section"], d["reason"]) for d in slow.json()["degraded"] if d["service"] == "legal"] == [
            ("cases_in_progress", "timed out")]
        assert slow.json()["top_members"] is not None  # the other services still answered
    assert gateway.runtime.upstreams.breakers["legal"].state == "open"
    second = await asyncio.wait_for(gateway.client.get(overview_path, headers=headers), timeout=20)
    assert {d["reason"] for d in second.json()["degraded"] if d["service"] == "legal"} == {"circuit open"}


async def test_an_api_key_without_a_domain_gets_that_section_degraded(world):
    client = world["client"]
    issued = await client.post(
        "/api/v1/auth/api-keys",
        json={"name": "综治平台", "scope_unit_id": world["units"]["town"]["id"], "rights": {"grid": "read", "points": "read"}},
        headers=world["admin"],
    )
    assert issued.status_code == 201
    response = await client.get(f"/api/v1/views/units/{world['units']['village']['id']}/overview", headers={"X-API-Key": issued.json()["key"]})
    assert response.status_code == 200
    body = response.json()
    assert {(d["section"], d["reason"]) for d in body["degraded"]} == {
        ("open_orders", "forbidden"), ("overdue_orders", "forbidden"), ("cases_in_progress", "forbidden")}
    assert body["households"] == 1


async def test_public_pages_need_no_login_and_show_names_only(world):
    client, village = world["client"], world["units"]["village"]
    rules = await client.get(f"/notices/villages/{village['id']}/rules")
    assert rules.status_code == 200 and rules.headers["content-type"].startswith("text/html")
    assert "青龙村村规民约" in rules.text and "邻里和睦" in rules.text
    assert "13812341234" not in rules.text
    missing = await client.get(f"/notices/villages/{world['units']['other_village']['id']}/rules")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    bad_month = await client.get(f"/notices/points/{village['id']}/2026-13")
    assert bad_month.status_code == 422
    notice = await client.get(f"/notices/points/{village['id']}/{world['today']:%Y-%m}")
    assert notice.status_code == 200, notice.text
    assert "王建国" in notice.text and "参与矛盾纠纷调解 +5" in notice.text and "公示期至" in notice.text
    assert "13812341234" not in notice.text and world["person"]["id"] not in notice.text
    no_notice = await client.get(f"/notices/points/{world['units']['other_village']['id']}/{world['today']:%Y-%m}")
    assert no_notice.status_code == 404
    no_appraisal = await client.get("/notices/appraisals/01NOSUCHAPPRAISAL000000000")
    assert no_appraisal.status_code == 404 and "未找到" in no_appraisal.text


@pytest.fixture(scope="module")
async def served_gateway(world):
    """The gateway on a real port, for the browser."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(world["gateway"].app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0, result=server.started))
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def _chromium(*args: str) -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        if os.environ.get("REQUIRE_CHROMIUM") == "1":
            pytest.fail("Debian's chromium package is required for the printable page tests (REQUIRE_CHROMIUM=1)")
        pytest.skip("chromium not installed (apt-get install chromium); `.ci/run` installs it")
    process = await asyncio.create_subprocess_exec(
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-pdf-header-footer", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0
    return stdout.decode()


async def test_village_rules_page_renders_in_a_browser_on_one_a4_sheet(world, served_gateway, tmp_path):
    url = f"{served_gateway}/notices/villages/{world['units']['village']['id']}/rules"
    dom = await _chromium("--dump-dom", url)
    assert "青龙村村规民约" in dom and "爱党爱国" in dom and "禹王镇" in dom
    pdf = tmp_path / "rules.pdf"
    await _chromium(f"--print-to-pdf={pdf}", url)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf.read_bytes())
    assert boxes, "no page in the PDF"
    width, height = (float(v) for v in boxes[0])
    assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2  # A4 in points


async def test_points_notice_page_renders_in_a_browser_with_its_deadline(world, served_gateway):
    url = f"{served_gateway}/notices/points/{world['units']['village']['id']}/{world['today']:%Y-%m}"
    dom = await _chromium("--dump-dom", url)
    assert "党员积分公示" in dom and "王建国" in dom and "青龙村" in dom
    deadline = re.search(r'class="deadline">(\d{4})年(\d{1,2})月(\d{1,2})日 (\d{2}):(\d{2})<', dom)
    assert deadline, "the objection deadline is printed"
    assert date(*(int(v) for v in deadline.groups()[:3])) >= world["today"]
