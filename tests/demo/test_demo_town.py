"""The demo town loaded through the gateway of the platform running as processes, and the report's
figures read back from the town dashboard, as the services compute them from their own data."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from demo import accounts
from demo.client import Api, ApiError, login
from demo.load import Loader, LoadOptions, LoadResult
from demo.town import SHANGHAI, Sizes
from devstack.stack import ProcessStack

# The report's shape and figures; one household per micro grid keeps the run short.
SIZES = Sizes(households_per_micro_grid=1)


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> ProcessStack:
    """Broker and five services as processes on free ports, SQLite under a temporary directory."""
    stack = ProcessStack(var=Path(tmp_path_factory.mktemp("demo")))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def gateway(platform: ProcessStack) -> str:
    return platform.services["gateway"].url


@pytest.fixture(scope="module")
def loaded(platform: ProcessStack, gateway: str) -> LoadResult:
    """The generator run once at the report's size, against the running system."""
    loader = Loader(LoadOptions(gateway=gateway, sizes=SIZES, key_file=platform.var / "demo-county-key"), log=print)
    try:
        return loader.run()
    finally:
        loader.close()


@pytest.fixture(scope="module")
def town_admin(gateway: str, loaded: LoadResult) -> Api:
    api = login(gateway, "yuwang.admin", accounts.DEMO_PASSWORD)
    yield api
    api.close()


@pytest.fixture(scope="module")
def dashboard(town_admin: Api, loaded: LoadResult) -> dict:
    today = datetime.now(SHANGHAI).date()
    return town_admin.get(
        f"/api/v1/dashboards/towns/{loaded.towns[0].unit_id}", **{"from": loaded.since.isoformat(), "to": today.isoformat()}
    )


def test_the_dashboard_answers_every_figure_of_the_report(dashboard: dict):
    figures = dashboard["figures"]
    assert dashboard["degraded"] == []
    assert dashboard["unit"]["name"] == "禹王镇"
    assert (figures["grids"], figures["small_grids"], figures["micro_grids"]) == (41, 139, 431)
    assert figures["lecture_sessions"] == 32
    assert figures["lecture_attendees"] >= 1000
    assert figures["legal_consultations"] >= 70
    assert figures["legal_affairs"] == 6
    assert figures["disputes_mediated"] == 25
    assert figures["adviser_recovered_yuan"] >= 60000
    assert figures["enforcement_campaigns"] >= 10
    assert figures["publicity_teams"] == 3
    assert figures["patrol_recovered_yuan"] >= 300000
    assert figures["households"] == 431
    assert figures["liaison_coverage"] == 1.0
    assert figures["orders_completed"] >= 1 and figures["activities"] >= 2
    assert 0 < figures["satisfaction_rate"] <= 1


def test_the_town_is_found_by_name_under_its_county(gateway: str, loaded: LoadResult):
    admin = login(gateway, accounts.ADMIN_USERNAME, accounts.ADMIN_PASSWORD)
    try:
        towns = admin.get("/api/v1/grid/units", level="town", q="禹王镇")["items"]
        assert [t["id"] for t in towns] == [loaded.towns[0].unit_id]
        county = admin.get(f"/api/v1/grid/units/{loaded.towns[0].unit_id}/ancestors")[0]
        assert (county["name"], county["level"]) == ("夏县", "county")
    finally:
        admin.close()


def test_a_login_logs_in_again_when_its_token_is_refused(gateway: str, loaded: LoadResult):
    """A load outlives an access token: the gateway refuses an expired token as it refuses this one (401)."""
    admin = login(gateway, accounts.ADMIN_USERNAME, accounts.ADMIN_PASSWORD)
    try:
        admin.http.headers["Authorization"] = "Bearer no-longer-valid"
        towns = admin.get("/api/v1/grid/units", level="town", q="禹王镇")["items"]
        assert [t["id"] for t in towns] == [loaded.towns[0].unit_id]
        assert admin.http.headers["Authorization"] != "Bearer no-longer-valid"
    finally:
        admin.close()
    stale = Api(gateway, token="no-longer-valid")  # nothing to log in with: the refusal is the answer
    try:
        with pytest.raises(ApiError) as refused:
            stale.get("/api/v1/grid/units", level="town")
        assert (refused.value.status, refused.value.code) == (401, "unauthenticated")
    finally:
        stale.close()


def test_the_figures_are_counted_from_the_records(town_admin: Api, loaded: LoadResult, dashboard: dict):
    """Each figure equals what the owning service's own lists hold (nothing is a stored constant)."""
    town = loaded.towns[0].unit_id
    period = {"from": dashboard["from"], "to": dashboard["to"]}
    figures = dashboard["figures"]
    assert town_admin.get("/api/v1/dispatch/lectures", under=town, per_page=1, **period)["total"] == figures["lecture_sessions"]
    assert (
        town_admin.get("/api/v1/legal/consultations", under=town, per_page=1, **period)["total"] == figures["legal_consultations"]
    )
    assert town_admin.get("/api/v1/grid/party/members", under=town, per_page=1)["total"] == figures["party_members"]
    assert town_admin.get("/api/v1/legal/publicity-teams", under=town, per_page=1)["total"] == figures["publicity_teams"]
    patrols = list(town_admin.pages("/api/v1/legal/patrols", under=town, **period))
    assert sum(p["recovered_fen"] for p in patrols) == round(figures["patrol_recovered_yuan"] * 100)
    entries = sum(
        town_admin.get("/api/v1/points/entries", under=town, period=month, per_page=1)["total"] for month in loaded.months
    )
    assert entries == figures["points_entries"]


def test_deeds_flowed_into_points_through_the_broker(town_admin: Api, loaded: LoadResult):
    town = loaded.towns[0].unit_id
    for kind in ("lecture_held", "order_completed", "mediation_concluded", "manual"):
        assert town_admin.get("/api/v1/points/entries", under=town, source_kind=kind, per_page=1)["total"] > 0, kind
    assert town_admin.get("/api/v1/points/deeds", under=town, status="waiting_member", per_page=1)["total"] == 0
    assert town_admin.get("/api/v1/points/ledger/verify")["ok"] is True


def test_one_notice_closed_one_open_and_the_public_pages(gateway: str, town_admin: Api, loaded: LoadResult):
    village = loaded.towns[0].first_village_id
    notices = {n["period"]: n["status"] for n in town_admin.pages("/api/v1/points/notices", under=village)}
    assert notices == {loaded.months[-2]: "closed", loaded.months[-1]: "open"}
    public = Api(gateway)
    try:
        for path in (f"/notices/points/{village}/{loaded.months[-2]}", f"/notices/villages/{village}/rules"):
            page = public.http.get(path)
            assert page.status_code == 200 and "司马村" in page.text, path
    finally:
        public.close()


def test_the_two_trainings_went_to_their_providers(town_admin: Api, loaded: LoadResult):
    town = loaded.towns[0].unit_id
    villages = {
        u["name"]: u["id"] for u in town_admin.get("/api/v1/grid/units", under=town, level="village", per_page=200)["items"]
    }
    providers = {p["id"]: p["name"] for p in town_admin.pages("/api/v1/dispatch/providers")}
    for village, provider in (("司马村", "夏县红十字会"), ("史庄村", "禹王镇锣鼓协会志愿服务队")):
        plans = town_admin.get("/api/v1/dispatch/plans", under=villages[village])["items"]
        sessions = [item for plan in plans if plan["status"] == "executed" for item in plan["items"] if item["kind"] == "session"]
        assert [providers[s["provider_id"]] for s in sessions] == [provider], village


def test_every_demo_account_logs_in_with_its_role(gateway: str, loaded: LoadResult):
    for account in accounts.town_accounts("yuwang"):
        api = login(gateway, account.username, accounts.DEMO_PASSWORD)
        try:
            assert api.get("/api/v1/auth/me")["role"] == account.role
        finally:
            api.close()


def test_a_second_run_stops_early_saying_already_loaded(platform: ProcessStack, gateway: str, loaded: LoadResult):
    lines: list[str] = []
    loader = Loader(LoadOptions(gateway=gateway, sizes=SIZES, key_file=platform.var / "demo-county-key"), log=lines.append)
    try:
        again = loader.run()
    finally:
        loader.close()
    assert again.already_loaded
    assert again.towns[0].unit_id == loaded.towns[0].unit_id
    assert any("already loaded" in line for line in lines)
