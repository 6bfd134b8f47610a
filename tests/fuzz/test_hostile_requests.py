"""Hand-picked nasty input and wrong callers, through the HTTP API of all five apps (in-process, real broker).

Nasty input: huge and endless bodies, invalid UTF-8, NUL characters, injection strings
in Chinese and ASCII fields (stored verbatim, printed escaped), impossible dates, negative money,
unknown enum values, a reused Idempotency-Key, a spreadsheet with a live formula. Wrong callers:
every operation of every service refuses a missing, forged, expired or unsigned identity.
(Deep JSON is sent to the real servers in test_schemathesis.py: its RecursionError is better kept out of this process.)
"""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from openpyxl import Workbook, load_workbook

from dispatch_svc.db import MIGRATIONS as DISPATCH_MIGRATIONS
from dispatch_svc.main import create_app as create_dispatch
from dispatch_svc.settings import DispatchSettings
from gateway.db import MIGRATIONS as GATEWAY_MIGRATIONS
from gateway.main import create_app as create_gateway
from gateway.settings import GatewaySettings
from grid_svc.db import MIGRATIONS as GRID_MIGRATIONS
from grid_svc.main import create_app as create_grid
from grid_svc.settings import GridSettings
from harness import PLATFORM_ADMIN, Databases, Stack, identity_headers
from legal_svc.db import MIGRATIONS as LEGAL_MIGRATIONS
from legal_svc.main import create_app as create_legal
from legal_svc.settings import LegalSettings
from points_svc.db import MIGRATIONS as POINTS_MIGRATIONS
from points_svc.main import create_app as create_points
from points_svc.settings import PointsSettings
from shared.identity import IDENTITY_HEADER, issue_identity_token
from shared.settings import DEV_IDENTITY_SECRET

ADMIN = identity_headers()
DOMAINS = ("grid", "points", "dispatch", "legal")
MAX_BODY = 200_000  # small, so "huge" stays cheap to send
INJECTIONS = [
    "'; DROP TABLE units; --",
    "<script>alert('x')</script>",
    "张三\"><img src=x onerror=alert(1)>",
    "王五' OR '1'='1",
    "李四 </title><script>document.cookie</script> 东村",
]
# A creating POST of each app: it reads the body, so the limit must stop it.
CREATING = {"grid": "/api/v1/grid/units", "points": "/api/v1/points/rules", "dispatch": "/api/v1/dispatch/lectures",
            "legal": "/api/v1/legal/cases", "gateway": "/api/v1/grid/units"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
async def stack(backend, broker, tmp_path_factory):
    """The four services and the gateway in front of them, with a small body limit."""
    stack = Stack(broker.bootstrap_servers, Databases(backend, tmp_path_factory.mktemp("hostile")))
    await stack.start("grid", create_grid, GridSettings, GRID_MIGRATIONS, max_body_bytes=MAX_BODY)
    await stack.start("points", create_points, PointsSettings, POINTS_MIGRATIONS, max_body_bytes=MAX_BODY)
    await stack.start("dispatch", create_dispatch, DispatchSettings, DISPATCH_MIGRATIONS, max_body_bytes=MAX_BODY)
    await stack.start("legal", create_legal, LegalSettings, LEGAL_MIGRATIONS, max_body_bytes=MAX_BODY)
    transports = {name: httpx.ASGITransport(app=stack.services[name].app) for name in DOMAINS}
    await stack.start("gateway", create_gateway, GatewaySettings, GATEWAY_MIGRATIONS, app_kwargs={"transports": transports},
                      max_body_bytes=MAX_BODY)
    yield stack
    await stack.close()


@pytest.fixture(scope="module")
async def village(stack) -> dict:
    grid = stack.services["grid"].client
    parent = None
    for level, name in (("county", "夏县"), ("town", "禹王镇"), ("village", "东村")):
        body = {"code": f"H{uuid.uuid4().hex[:8]}", "name": name, "level": level, "parent_id": parent["id"] if parent else None}
        response = await grid.post("/api/v1/grid/units", json=body, headers=ADMIN)
        assert response.status_code == 201, response.text
        parent = response.json()
    return parent


def _is_problem(response: httpx.Response, status: int) -> bool:
    return response.status_code == status and response.headers["content-type"].startswith("application/problem+json")


async def test_huge_and_endless_bodies_are_refused_with_413_by_every_app(stack, village):
    huge = json.dumps({"code": "X", "name": "名" * MAX_BODY, "level": "grid", "parent_id": village["id"]}).encode()

    async def endless():  # no Content-Length: the limit must hold while reading
        for _ in range(MAX_BODY // 10_000 + 5):
            yield b" " * 10_000

    login = await stack.services["gateway"].client.post("/api/v1/auth/token", data={"username": "admin", "password": "admin12345"})
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    answers = []
    for name in (*DOMAINS, "gateway"):
        client = stack.services[name].client
        path = CREATING[name]
        headers = {**(bearer if name == "gateway" else ADMIN), "content-type": "application/json"}
        declared = await client.post(path, content=huge, headers=headers)
        streamed = await client.post(path, content=endless(), headers=headers)
        answers.append((name, declared.status_code, streamed.status_code))
        assert _is_problem(declared, 413) and declared.json()["code"] == "payload_too_large", (name, declared.text[:200])
        assert _is_problem(streamed, 413), (name, streamed.status_code)
    print(f"\n[huge bodies] {len(huge)} bytes declared and streamed without length → {answers}")


async def test_invalid_utf8_malformed_json_and_nul_characters_are_client_errors(stack, village, backend):
    grid = stack.services["grid"].client
    headers = {**ADMIN, "content-type": "application/json"}
    statuses = {}
    for label, body in (
        ("invalid utf-8", b'{"code": "U", "name": "\xff\xfe\xc3\x28", "level": "grid", "parent_id": "x"}'),
        ("truncated", b'{"code": "T", "name": "'),
        ("not json", b"\x00\x01\x02"),
    ):
        response = await grid.post("/api/v1/grid/units", content=body, headers=headers)
        statuses[label] = response.status_code
        assert 400 <= response.status_code < 500 and response.headers["content-type"].startswith("application/problem+json"), (label, response.text[:300])
    nul = await grid.post("/api/v1/grid/units", json={"code": "N1", "name": "空\x00字", "level": "grid", "parent_id": village["id"]}, headers=ADMIN)
    nul_query = await grid.get("/api/v1/grid/units", params={"q": "\x00"}, headers=ADMIN)
    # PostgreSQL cannot store U+0000 (422); SQLite stores it verbatim.
    expected = 422 if backend == "postgresql" else 201
    assert nul.status_code == expected, nul.text
    assert nul_query.status_code in (200, 422) and nul_query.status_code == (422 if backend == "postgresql" else 200)
    statuses["NUL in a name"] = nul.status_code
    print(f"\n[malformed bodies {backend}] {statuses}")


async def test_injection_strings_are_stored_verbatim_and_printed_escaped(stack, village):
    grid, gateway = stack.services["grid"].client, stack.services["gateway"].client
    stored = []
    for i, text in enumerate(INJECTIONS):
        created = await grid.post("/api/v1/grid/units", json={"code": f"INJ{i}", "name": text[:100], "level": "grid", "parent_id": village["id"]}, headers=ADMIN)
        assert created.status_code == 201, created.text
        read = await grid.get(f"/api/v1/grid/units/{created.json()['id']}", headers=ADMIN)
        assert read.json()["name"] == text[:100]
        found = await grid.get("/api/v1/grid/units", params={"q": text[:20], "under": village["id"]}, headers=ADMIN)
        assert created.json()["id"] in [u["id"] for u in found.json()["items"]]
        stored.append(created.json()["id"])
    listed = await grid.get("/api/v1/grid/units", params={"under": village["id"], "per_page": 100}, headers=ADMIN)
    assert listed.status_code == 200 and listed.json()["total"] >= len(INJECTIONS)  # the table is still there

    rules_text = "\n".join(INJECTIONS)
    revision = await grid.post(
        f"/api/v1/grid/villages/{village['id']}/rules/revisions",
        json={"title": "东村村规民约<script>alert(1)</script>", "text": rules_text, "effective_on": "2026-01-01"}, headers=ADMIN,
    )
    assert revision.status_code == 201, revision.text
    published = await grid.post(f"/api/v1/grid/villages/{village['id']}/rules/revisions/{revision.json()['version']}/publish", headers=ADMIN)
    assert published.status_code == 200, published.text
    page = await gateway.get(f"/notices/villages/{village['id']}/rules")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), page.text[:300]
    html = page.text
    for raw in ("<script>alert", "<img src=x", "</title><script>"):
        assert raw not in html, f"{raw!r} printed unescaped"
    assert "&lt;script&gt;" in html and "DROP TABLE units" in html
    print(f"\n[injection] {len(INJECTIONS)} names stored verbatim and found by search; rules page escapes every tag")


async def test_impossible_dates_negative_money_and_unknown_enums_are_422_naming_the_field(stack, village):
    grid, legal, dispatch = (stack.services[n].client for n in ("grid", "legal", "dispatch"))
    cases = [
        (grid, "/api/v1/grid/units", {"code": "E1", "name": "怪", "level": "metropolis", "parent_id": village["id"]}, "level"),
        (grid, "/api/v1/grid/units", {"code": "E2", "name": "怪", "level": "grid", "parent_id": village["id"], "established_on": "2026-02-30"}, "established_on"),
        (grid, "/api/v1/grid/units", {"code": "E3", "name": "怪", "level": "grid", "parent_id": village["id"], "established_on": "10000-01-01"}, "established_on"),
        (legal, "/api/v1/legal/cases", {
            "unit_id": village["id"], "category": "neighbourhood", "facts": "邻里纠纷", "points_in_dispute": "围墙", "amount_in_dispute_fen": -100,
            "parties": [{"role": "applicant", "name": "甲"}, {"role": "respondent", "name": "乙"}]}, "amount_in_dispute_fen"),
        (legal, "/api/v1/legal/cases", {
            "unit_id": village["id"], "category": "alien_abduction", "facts": "x", "points_in_dispute": "y",
            "parties": [{"role": "applicant", "name": "甲"}, {"role": "respondent", "name": "乙"}]}, "category"),
        (dispatch, "/api/v1/dispatch/lectures", {
            "unit_id": village["id"], "theme": "t", "held_at": "2026-13-01T09:00:00+08:00", "lecturer_person_ids": ["p"], "attendees": 1}, "held_at"),
        (dispatch, "/api/v1/dispatch/lectures", {
            "unit_id": village["id"], "theme": "t", "held_at": "2026-01-01T09:00:00", "lecturer_person_ids": ["p"], "attendees": -5}, "attendees"),
    ]
    for client, path, body, field in cases:
        response = await client.post(path, json=body, headers=ADMIN)
        assert _is_problem(response, 422), (path, field, response.status_code, response.text[:300])
        named = [e["loc"] for e in response.json().get("errors", [])]
        assert any(field in loc for loc in named), (field, named)
    far = await dispatch.get("/api/v1/dispatch/lectures", params={"from": "0001-01-01", "to": "9999-12-31"}, headers=ADMIN)
    assert far.status_code == 200
    print(f"\n[bad values] {len(cases)} requests → 422 naming the field; widest date range still answers 200")


async def test_an_idempotency_key_reused_with_another_body_is_409_and_a_retry_replays_the_first_answer(stack, village):
    grid = stack.services["grid"].client
    key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    body = {"code": f"IK{uuid.uuid4().hex[:6]}", "name": "幂等网格", "level": "grid", "parent_id": village["id"]}
    first = await grid.post("/api/v1/grid/units", json=body, headers={**ADMIN, **key})
    retry = await grid.post("/api/v1/grid/units", json=body, headers={**ADMIN, **key})
    other = await grid.post("/api/v1/grid/units", json={**body, "name": "另一个"}, headers={**ADMIN, **key})
    assert first.status_code == 201 and retry.status_code == 201 and retry.headers.get("idempotent-replayed") == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert _is_problem(other, 409) and other.json()["code"] == "idempotency_key_reused"
    found = await grid.get("/api/v1/grid/units", params={"under": village["id"], "q": "幂等网格"}, headers=ADMIN)
    assert found.json()["total"] == 1
    print("\n[idempotency] same key + same body → one unit, replayed; same key + other body → 409 idempotency_key_reused")


async def test_a_live_formula_in_an_imported_sheet_never_comes_back_as_a_formula(stack, village):
    grid = stack.services["grid"].client
    micro = village
    for level in ("grid", "small_grid", "micro_grid"):
        response = await grid.post("/api/v1/grid/units", json={"code": f"F{level[:2]}", "name": "公式", "level": level, "parent_id": micro["id"]}, headers=ADMIN)
        assert response.status_code == 201, response.text
        micro = response.json()
    book = Workbook()
    sheet = book.active
    sheet.title = "households"
    household = f"FH{uuid.uuid4().hex[:6]}"
    sheet.append(["code", "unit_code", "address", "size", "tags"])
    sheet.append([household, micro["full_code"], '=HYPERLINK("http://evil.example","点我")', 3, ""])
    buffer = io.BytesIO()
    book.save(buffer)
    response = await grid.post("/api/v1/grid/imports", files=[("files", ("roster.xlsx", buffer.getvalue(), XLSX))], headers=ADMIN)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:  # refused clearly, naming the row
        assert response.json()["errors"], response.text
        outcome = "refused with a row error"
    else:
        exported = await grid.get("/api/v1/grid/exports", params={"under": village["id"], "format": "xlsx", "sheet": "households"}, headers=ADMIN)
        cells = [c for row in load_workbook(io.BytesIO(exported.content))["households"].iter_rows() for c in row if "HYPERLINK" in str(c.value)]
        assert cells and all(c.data_type == "s" and str(c.value).startswith("'") for c in cells), [(c.value, c.data_type) for c in cells]
        outcome = "stored as text, exported quoted"
    print(f"\n[formula in an imported cell] {outcome}")


def _forged_tokens() -> dict[str, str]:
    claims = {"iss": "gateway", "aud": "grassroots-services", "iat": datetime.now(UTC), "exp": datetime.now(UTC) + timedelta(minutes=5),
              "idn": PLATFORM_ADMIN.model_dump(mode="json")}
    expired = {**claims, "iat": datetime.now(UTC) - timedelta(hours=2), "exp": datetime.now(UTC) - timedelta(hours=1)}
    return {
        "missing": "",
        "wrong secret": issue_identity_token(PLATFORM_ADMIN, "not-the-platform-secret-but-long-enough-0000"),
        "expired": jwt.encode(expired, DEV_IDENTITY_SECRET, algorithm="HS256"),
        "unsigned (alg none)": jwt.encode(claims, None, algorithm="none"),
        "wrong audience": jwt.encode({**claims, "aud": "someone-else"}, DEV_IDENTITY_SECRET, algorithm="HS256"),
        "garbage": "not.a.token",
    }


# Public by design: GeoReport discovery and service list, the public notice data the gateway prints.
PUBLIC = ("/open311/v2/discovery", "/open311/v2/services", "/api/v1/grid/public/", "/api/v1/points/public/")


async def test_every_operation_of_every_service_refuses_a_missing_forged_expired_or_unsigned_identity(stack):
    tokens = _forged_tokens()
    checked = 0
    for name in DOMAINS:
        client = stack.services[name].client
        spec = (await client.get("/openapi.json")).json()
        for path, methods in spec["paths"].items():
            if path.startswith(("/healthz", "/readyz", "/metrics")) or path.startswith(PUBLIC):
                continue
            concrete = path.replace("{fmt}", "json")
            while "{" in concrete:
                start = concrete.index("{")
                concrete = concrete[:start] + "01JD0000000000000000000000" + concrete[concrete.index("}") + 1:]
            for method in methods:
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                for label, token in tokens.items():
                    headers = {IDENTITY_HEADER: token} if token else {}
                    response = await client.request(method.upper(), concrete, headers=headers, json={})
                    if concrete.startswith("/open311/"):
                        # GeoReport answers in its own format; a submission without a key is 401 there too.
                        assert response.status_code in (400, 401, 403, 404), (label, method, path, response.status_code)
                        assert response.status_code != 200
                    else:
                        assert response.status_code == 401, (label, method, path, response.status_code, response.text[:200])
                    checked += 1
    print(f"\n[wrong callers] {checked} calls ({len(tokens)} kinds of bad identity × every operation of 4 services) → none served")
    assert checked > 500
