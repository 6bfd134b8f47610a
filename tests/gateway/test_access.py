"""Identity and scope through the gateway: users, roles, API keys, rate limits, CORS, tracing, OpenAPI."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from harness import eventually
from shared.testing import free_port

ORIGIN = "http://localhost:5173"
ADMIN = {"username": "admin", "password": "admin12345"}
DOMAINS = ("grid", "points", "dispatch", "legal")
# Each role with the level of its scope unit: inside = the grid G1, which lies under every scope.
ROLE_SCOPES = {
    "county_admin": "county",
    "town_admin": "town",
    "village_secretary": "village",
    "grid_worker": "grid",
    "party_member": "grid",
    "mediator": "village",
    "auditor": "county",
    "resident": "grid",
}
GRID_ADMIN_ROLES = {"county_admin", "town_admin", "village_secretary"}


@pytest.fixture(scope="module")
async def env(backend, broker, tmp_path_factory, kit):
    stack = await kit.start_services(backend, broker, tmp_path_factory)
    transports = kit.recording_transports(stack)
    gateway = await kit.start_gateway(stack, "gateway", transports, cors_origins=[ORIGIN])
    await stack.wait_consumers_assigned()
    client = gateway.client
    admin = await kit.login(client, **ADMIN)
    c1 = await kit.create_unit(client, admin, "county", None, "夏县")
    t1 = await kit.create_unit(client, admin, "town", c1, "禹王镇")
    v1 = await kit.create_unit(client, admin, "village", t1, "青龙村")
    g1 = await kit.create_unit(client, admin, "grid", v1, "一网格")
    c2 = await kit.create_unit(client, admin, "county", None, "闻喜县")
    t2 = await kit.create_unit(client, admin, "town", c2, "东镇")
    units = {"county": c1, "town": t1, "village": v1, "grid": g1, "other_county": c2, "other_town": t2}
    users = {role: await kit.create_user(client, admin, role, units[level]) for role, level in ROLE_SCOPES.items()}
    # One record of every kind inside G1's subtree and one in the other county.
    v2 = await kit.create_unit(client, admin, "village", t2, "西村")
    records: dict[str, dict[str, str]] = {"inside": {}, "outside": {}}
    for side, grid_parent in (("inside", g1), ("outside", await kit.create_unit(client, admin, "grid", v2, "二网格"))):
        small = await kit.create_unit(client, admin, "small_grid", grid_parent, "小网格")
        micro = await kit.create_unit(client, admin, "micro_grid", small, "微网格")
        household = await _created(client, admin, "/api/v1/grid/households",
                                   {"code": f"H{uuid.uuid4().hex[:8]}", "address": "一组 1 号", "unit_id": micro["id"]})
        person = await _created(client, admin, "/api/v1/grid/people", {"name": "赵大", "household_id": household["id"], "relation": "head"})
        member = await _created(client, admin, "/api/v1/grid/party/members",
                                {"person_id": person["id"], "unit_id": grid_parent["id"], "joined_on": "2010-07-01"})
        records[side].update(unit=grid_parent["id"], household=household["id"], person=person["id"], member=member["id"])

    async def replicated() -> bool:
        for domain in DOMAINS[1:]:
            for unit in (g1, t2):
                if (await client.get(f"/api/v1/{domain}/units/{unit['id']}", headers=admin)).status_code != 200:
                    return False
        for side in ("inside", "outside"):
            if (await client.get(f"/api/v1/points/members/{records[side]['member']}", headers=admin)).status_code != 200:
                return False
        return True

    await eventually(replicated)
    for side, town in (("inside", t1), ("outside", t2)):
        adviser = await _created(client, admin, "/api/v1/legal/advisers", {"name": "钱律师", "firm": "法律服务所", "unit_id": town["id"]})
        consultation = await _created(client, admin, "/api/v1/legal/consultations", {
            "adviser_id": adviser["id"], "unit_id": records[side]["unit"], "asked_on": "2026-01-05", "asker_name": "孙二",
            "category": "other", "question": "宅基地纠纷怎么办？", "answer": "先找村委会调解。"})
        records[side]["consultation"] = consultation["id"]
    yield {"stack": stack, "client": client, "admin": admin, "units": units, "users": users, "transports": transports,
           "records": records}
    await stack.close()


async def _created(client, headers: dict, path: str, body: dict) -> dict:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, f"{path}: {response.text}"
    return response.json()


# Every kind of record the services hold so far, read one by one through the gateway.
RESOURCE_KINDS = {
    "grid unit": ("unit", "/api/v1/grid/units/{}"),
    "household": ("household", "/api/v1/grid/households/{}"),
    "person": ("person", "/api/v1/grid/people/{}"),
    "party member": ("member", "/api/v1/grid/party/members/{}"),
    "points unit": ("unit", "/api/v1/points/units/{}"),
    "points member": ("member", "/api/v1/points/members/{}"),
    "dispatch unit": ("unit", "/api/v1/dispatch/units/{}"),
    "legal unit": ("unit", "/api/v1/legal/units/{}"),
    "legal consultation": ("consultation", "/api/v1/legal/consultations/{}"),
}


async def _issue_key(env, **body) -> dict:
    body.setdefault("name", "县综治中心")
    body.setdefault("scope_unit_id", env["units"]["county"]["id"])
    response = await env["client"].post("/api/v1/auth/api-keys", json=body, headers=env["admin"])
    assert response.status_code == 201, response.text
    return response.json()


async def test_every_role_sees_every_resource_kind_only_inside_its_scope(env):
    client, units = env["client"], env["units"]
    inside, outside = units["grid"]["id"], units["other_town"]["id"]
    for role, user in env["users"].items():
        for domain in DOMAINS:
            got_in = await client.get(f"/api/v1/{domain}/units/{inside}", headers=user["headers"])
            got_out = await client.get(f"/api/v1/{domain}/units/{outside}", headers=user["headers"])
            assert (role, domain, got_in.status_code) == (role, domain, 200), got_in.text
            assert (role, domain, got_out.status_code) == (role, domain, 404), got_out.text
            listed = await client.get(f"/api/v1/{domain}/units", params={"per_page": 200}, headers=user["headers"])
            ids = {u["id"] for u in listed.json()["items"]}
            assert inside in ids and outside not in ids, (role, domain)


async def test_every_role_reads_every_record_kind_only_inside_its_scope(env):
    client, records = env["client"], env["records"]
    key = await _issue_key(env, rights={d: "read" for d in DOMAINS})
    callers = {**{role: user["headers"] for role, user in env["users"].items()}, "api key": {"X-API-Key": key["key"]}}
    for caller, headers in callers.items():
        for kind, (record, path) in RESOURCE_KINDS.items():
            inside = await client.get(path.format(records["inside"][record]), headers=headers)
            outside = await client.get(path.format(records["outside"][record]), headers=headers)
            assert (caller, kind, inside.status_code) == (caller, kind, 200), inside.text
            assert inside.json()["id"] == records["inside"][record]
            assert (caller, kind, outside.status_code) == (caller, kind, 404), outside.text


async def test_every_role_changes_the_grid_only_as_its_role_and_scope_allow(env):
    client, units = env["client"], env["units"]
    for role, user in env["users"].items():
        renamed_in = await client.patch(f"/api/v1/grid/units/{units['grid']['id']}", json={"name": f"网格-{role}"}, headers=user["headers"])
        renamed_out = await client.patch(f"/api/v1/grid/units/{units['other_town']['id']}", json={"name": "x"}, headers=user["headers"])
        if role in GRID_ADMIN_ROLES:
            assert (role, renamed_in.status_code) == (role, 200), renamed_in.text
            assert (role, renamed_out.status_code) == (role, 404), renamed_out.text
        else:
            assert (role, renamed_in.status_code) == (role, 403), renamed_in.text
            assert (role, renamed_out.status_code) == (role, 403), renamed_out.text
        assert renamed_out.headers["content-type"].startswith("application/problem+json")


async def test_unauthenticated_and_forged_credentials_are_refused(env):
    client, grid_id = env["client"], env["units"]["grid"]["id"]
    assert (await client.get(f"/api/v1/grid/units/{grid_id}")).status_code == 401
    assert (await client.get(f"/api/v1/grid/units/{grid_id}", headers={"Authorization": "Bearer nonsense"})).status_code == 401
    assert (await client.get(f"/api/v1/grid/units/{grid_id}", headers={"X-API-Key": "gk_00000000_nope"})).status_code == 401
    wrong = await client.post("/api/v1/auth/token", data={"username": "admin", "password": "wrong-password"})
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "unauthenticated"


async def test_admins_manage_users_only_within_their_scope_and_rank(env, kit):
    client, units, users = env["client"], env["units"], env["users"]
    town_admin = users["town_admin"]["headers"]
    secretary = await kit.create_user(client, town_admin, "village_secretary", units["village"])
    assert secretary["scope_unit_id"] == units["village"]["id"]

    outside = await client.post(
        "/api/v1/auth/users",
        json={"username": "far.away", "role": "resident", "scope_unit_id": units["other_town"]["id"], "password": "pass-word-123"},
        headers=town_admin,
    )
    assert outside.status_code == 422 and outside.json()["code"] == "scope_outside", outside.text
    above = await client.post(
        "/api/v1/auth/users",
        json={"username": "too.high", "role": "county_admin", "scope_unit_id": units["town"]["id"], "password": "pass-word-123"},
        headers=town_admin,
    )
    assert above.status_code == 403
    machine = await client.post(
        "/api/v1/auth/users",
        json={"username": "a.machine", "role": "system", "scope_unit_id": units["town"]["id"], "password": "pass-word-123"},
        headers=env["admin"],
    )
    assert machine.status_code == 422
    duplicate = await client.post(
        "/api/v1/auth/users",
        json={"username": secretary["username"], "role": "resident", "scope_unit_id": units["grid"]["id"], "password": "pass-word-123"},
        headers=town_admin,
    )
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_username"

    listed = (await client.get("/api/v1/auth/users", params={"per_page": 200}, headers=town_admin)).json()
    names = {u["username"] for u in listed["items"]}
    assert secretary["username"] in names
    assert users["county_admin"]["username"] not in names  # scoped at the county, above the town
    assert all("password_hash" not in u for u in listed["items"])
    county_user = await client.get(f"/api/v1/auth/users/{users['county_admin']['id']}", headers=town_admin)
    assert county_user.status_code == 404

    for role in ("grid_worker", "resident", "auditor"):
        assert (await client.get("/api/v1/auth/users", headers=users[role]["headers"])).status_code == 403

    disabled = await client.patch(f"/api/v1/auth/users/{secretary['id']}", json={"active": False}, headers=town_admin)
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    assert (await client.get("/api/v1/auth/me", headers=secretary["headers"])).status_code == 401
    relogin = await client.post("/api/v1/auth/token", data={"username": secretary["username"], "password": "pass-word-123"})
    assert relogin.status_code == 401
    peer = await client.patch(f"/api/v1/auth/users/{users['town_admin']['id']}", json={"active": False}, headers=town_admin)
    assert peer.status_code == 403


async def test_api_keys_carry_scope_and_per_domain_rights(env):
    client, units = env["client"], env["units"]
    issued = await _issue_key(env, rights={"grid": "read", "dispatch": "write"})
    key = {"X-API-Key": issued["key"]}
    assert issued["key"].startswith(issued["prefix"] + "_")

    shown = await client.get(f"/api/v1/auth/api-keys/{issued['id']}", headers=env["admin"])
    assert shown.status_code == 200 and "key" not in shown.json() and "secret_hash" not in shown.json()

    assert (await client.get(f"/api/v1/grid/units/{units['grid']['id']}", headers=key)).status_code == 200
    assert (await client.get(f"/api/v1/grid/units/{units['other_town']['id']}", headers=key)).status_code == 404
    read_only = await client.post(
        "/api/v1/grid/units", json={"code": "K1", "name": "k", "level": "grid", "parent_id": units["village"]["id"]}, headers=key
    )
    assert read_only.status_code == 403 and read_only.json()["code"] == "forbidden"
    assert (await client.get(f"/api/v1/points/units/{units['grid']['id']}", headers=key)).status_code == 403
    assert (await client.get(f"/api/v1/dispatch/units/{units['grid']['id']}", headers=key)).status_code == 200
    # Keys are for data, not for administering accounts.
    assert (await client.get("/api/v1/auth/users", headers=key)).status_code == 403

    writer = await _issue_key(env, rights={"grid": "write"}, scope_unit_id=units["town"]["id"])
    created = await client.post(
        "/api/v1/grid/units",
        json={"code": "KEYV", "name": "钥匙村", "level": "village", "parent_id": units["town"]["id"]},
        headers={"X-API-Key": writer["key"]},
    )
    assert created.status_code == 201, created.text

    revoked = await client.post(f"/api/v1/auth/api-keys/{issued['id']}/revoke", headers=env["admin"])
    assert revoked.status_code == 200
    after = await client.get(f"/api/v1/grid/units/{units['grid']['id']}", headers=key)
    assert after.status_code == 401
    assert (await client.post(f"/api/v1/auth/api-keys/{issued['id']}/revoke", headers=env["admin"])).status_code == 409
    listed = (await client.get("/api/v1/auth/api-keys", headers=env["admin"])).json()
    assert issued["id"] not in {k["id"] for k in listed["items"]}


async def test_an_expired_api_key_stops_working(env):
    client, grid_id = env["client"], env["units"]["grid"]["id"]
    soon = datetime.now(UTC) + timedelta(seconds=2)
    issued = await _issue_key(env, rights={"grid": "read"}, expires_at=soon.isoformat())
    key = {"X-API-Key": issued["key"]}
    first = await client.get(f"/api/v1/grid/units/{grid_id}", headers=key)
    assert first.status_code in (200, 401)

    async def expired() -> bool:
        response = await client.get(f"/api/v1/grid/units/{grid_id}", headers=key)
        return response.status_code == 401 and "expired" in response.json()["detail"]

    await eventually(expired, interval=0.5)
    past = await client.post(
        "/api/v1/auth/api-keys",
        json={"name": "late", "scope_unit_id": env["units"]["county"]["id"], "rights": {"grid": "read"},
              "expires_at": (datetime.now(UTC) - timedelta(days=1)).isoformat()},
        headers=env["admin"],
    )
    assert past.status_code == 422


async def test_keys_are_issued_only_inside_the_admins_scope(env):
    client, units, users = env["client"], env["units"], env["users"]
    outside = await client.post(
        "/api/v1/auth/api-keys",
        json={"name": "x", "scope_unit_id": units["other_county"]["id"], "rights": {"grid": "read"}},
        headers=users["town_admin"]["headers"],
    )
    assert outside.status_code == 422 and outside.json()["code"] == "scope_outside"
    forbidden = await client.post(
        "/api/v1/auth/api-keys",
        json={"name": "x", "scope_unit_id": units["grid"]["id"], "rights": {"grid": "read"}},
        headers=users["grid_worker"]["headers"],
    )
    assert forbidden.status_code == 403


async def test_a_key_over_its_rate_limit_gets_429_with_retry_after(env):
    client, grid_id = env["client"], env["units"]["grid"]["id"]
    issued = await _issue_key(env, rights={"grid": "read"}, rate_limit_per_minute=5)
    key = {"X-API-Key": issued["key"]}
    statuses = []
    for _ in range(8):
        response = await client.get(f"/api/v1/grid/units/{grid_id}", headers=key)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert response.json()["code"] == "rate_limited"
    assert statuses[:5] == [200] * 5
    assert 429 in statuses[5:]
    # Another caller's bucket is untouched.
    assert (await client.get(f"/api/v1/grid/units/{grid_id}", headers=env["admin"])).status_code == 200


async def test_a_user_over_the_rate_limit_gets_429(env, kit):
    stack = env["stack"]
    strict = await kit.start_gateway(stack, "gateway-strict", kit.recording_transports(stack), rate_limit_per_minute=3, rate_limit_burst=3)
    headers = await kit.login(strict.client, **ADMIN)
    statuses = [(await strict.client.get("/api/v1/auth/me", headers=headers)).status_code for _ in range(6)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:].count(429) >= 1


async def test_cors_preflight_allows_configured_origins_only(env):
    client = env["client"]
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    allowed = await client.options("/api/v1/grid/units", headers={"Origin": ORIGIN, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    denied = await client.options("/api/v1/grid/units", headers={"Origin": "http://evil.example", **preflight})
    assert denied.status_code == 400
    assert "access-control-allow-origin" not in denied.headers
    simple = await client.get("/api/v1/auth/me", headers={"Origin": ORIGIN, **env["admin"]})
    assert simple.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


async def test_request_id_and_traceparent_reach_the_service(env):
    client, transports = env["client"], env["transports"]
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = await client.get(
        f"/api/v1/grid/units/{env['units']['grid']['id']}",
        headers={**env["admin"], "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01", "X-Request-Id": "req-gw-test-1"},
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-gw-test-1"
    seen = transports["grid"].seen[-1]
    assert seen["x-request-id"] == "req-gw-test-1"
    version, seen_trace, parent, flags = seen["traceparent"].split("-")
    assert (version, seen_trace, flags) == ("00", trace_id, "01")
    assert parent != "00f067aa0ba902b7"  # the gateway's own span
    assert "x-platform-identity" in seen and "authorization" not in seen

    anonymous_trace = await client.get(f"/api/v1/grid/units/{env['units']['grid']['id']}", headers=env["admin"])
    generated = transports["grid"].seen[-1]
    assert generated["x-request-id"] == anonymous_trace.headers["x-request-id"]
    assert len(generated["traceparent"].split("-")[1]) == 32


async def test_a_dead_service_answers_503_quickly_and_its_breaker_opens(env, kit):
    stack = env["stack"]
    transports = kit.recording_transports(stack)
    del transports["legal"]
    gateway = await kit.start_gateway(
        stack, "gateway-dead-legal", transports, legal_url=f"http://127.0.0.1:{free_port()}",
        breaker_failure_threshold=2, breaker_reset_s=60, upstream_buffer_bytes=0,
    )
    headers = await kit.login(gateway.client, **ADMIN)
    for _ in range(3):
        response = await gateway.client.get("/api/v1/legal/units", headers=headers)
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "service_unavailable"
        assert int(response.headers["Retry-After"]) >= 1
    assert gateway.runtime.upstreams.breakers["legal"].state == "open"
    # The other services still answer (this gateway streams every answer through).
    streamed = await gateway.client.get("/api/v1/grid/units", params={"per_page": 200}, headers=headers)
    direct = await env["client"].get("/api/v1/grid/units", params={"per_page": 200}, headers=env["admin"])
    assert streamed.status_code == 200 and streamed.json() == direct.json()
    document = (await gateway.client.get("/openapi.json")).json()
    assert document["info"]["x-degraded"] == ["legal"]
    assert "/api/v1/grid/units" in document["paths"] and not any(p.startswith("/api/v1/legal/") for p in document["paths"])


async def test_merged_openapi_holds_every_service_and_the_gateway(env):
    client = env["client"]
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    assert "/api/v1/auth/token" in paths and "/api/v1/auth/api-keys" in paths
    for domain in DOMAINS:
        service_doc = (await env["stack"].services[domain].client.get("/openapi.json")).json()
        public = [p for p in service_doc["paths"] if p.startswith(("/api/", "/open311/"))]
        assert public, domain
        assert set(public) <= set(paths), domain
    assert not any(p in paths for p in ("/healthz", "/readyz", "/metrics"))
    assert "x-degraded" not in document["info"]
    schemas = document["components"]["schemas"]
    refs: list[str] = []

    def collect(node) -> None:
        if isinstance(node, dict):
            refs.extend(v for k, v in node.items() if k == "$ref")
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(document)
    assert refs and all(r.removeprefix("#/components/schemas/") in schemas for r in refs)
    assert "GridUnitDetail" in schemas
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text


async def test_concurrent_forwarding_keeps_answers_apart(env):
    client, units = env["client"], env["units"]
    ids = [units["grid"]["id"], units["village"]["id"], units["town"]["id"]] * 10
    responses = await asyncio.gather(*(client.get(f"/api/v1/grid/units/{i}", headers=env["admin"]) for i in ids))
    assert [r.json()["id"] for r in responses] == ids


async def test_open311_requests_reach_dispatch_with_the_keys_identity_not_the_key(env):
    client, transports = env["client"], env["transports"]
    issued = await _issue_key(env, name="12345 热线", rights={"dispatch": "write"})
    await client.get("/open311/v2/services.json", params={"api_key": issued["key"], "jurisdiction_id": "xia"})
    seen, url = transports["dispatch"].seen[-1], transports["dispatch"].urls[-1]
    assert "x-platform-identity" in seen
    assert url.path == "/open311/v2/services.json"
    assert dict(url.params) == {"jurisdiction_id": "xia"}  # the key stays at the gateway

    await client.post(
        "/open311/v2/requests.json",
        content=f"api_key={issued['key']}&service_code=001&description=%E8%B7%AF%E7%81%AF%E5%9D%8F%E4%BA%86".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "x-platform-identity" in transports["dispatch"].seen[-1]
    body = transports["dispatch"].bodies[-1].decode()
    assert "api_key" not in body and "service_code=001" in body

    anonymous = await client.get("/open311/v2/services.json")
    assert anonymous.status_code == 200 and isinstance(anonymous.json(), list)  # listing services needs no key
    assert "x-platform-identity" not in transports["dispatch"].seen[-1]
    keyless = await client.post("/open311/v2/requests.json", data={"service_code": "001"})
    assert keyless.status_code == 401 and keyless.json()[0]["code"] == 401  # dispatch's GeoReport error
    bad = await client.get("/open311/v2/requests.json", params={"api_key": "gk_00000000_wrong"})
    assert bad.status_code == 401 and bad.json() == [{"code": 401, "description": "invalid API key"}]
    read_only = await _issue_key(env, rights={"dispatch": "read"})
    refused = await client.post("/open311/v2/requests.json", data={"api_key": read_only["key"], "service_code": "001"})
    assert refused.status_code == 403 and refused.json()[0]["code"] == 403
