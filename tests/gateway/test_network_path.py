"""The gateway over real sockets: the services served on local ports, the gateway given their URLs and
no in-process transport, so forwards and view fetches go through its pooled HTTP sessions as in production."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response

from harness import eventually, identity_headers
from shared.testing import free_port

LISTED_PAGE = 50


async def _serve(app) -> tuple[uvicorn.Server, asyncio.Task, str]:  # noqa: ANN001 - an ASGI app
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0, result=server.started))
    return server, task, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
async def world(backend, broker, tmp_path_factory, kit):
    stack = await kit.start_services(backend, broker, tmp_path_factory)
    served = {domain: await _serve(stack.services[domain].app) for domain in kit.DOMAINS}
    urls = {f"{domain}_url": url for domain, (_, _, url) in served.items()}
    # Answers over 1,000 bytes stream through; smaller ones are relayed whole.
    gateway = await kit.start_gateway(stack, "gateway", {}, upstream_buffer_bytes=1000, **urls)
    await stack.wait_consumers_assigned()
    client = gateway.client
    admin = await kit.login(client, **kit.ADMIN)
    county = await kit.create_unit(client, admin, "county", None, "夏县")
    town = await kit.create_unit(client, admin, "town", county, "禹王镇")
    village = await kit.create_unit(client, admin, "village", town, "青龙村")
    other_town = await kit.create_unit(client, admin, "town", county, "裴介镇")
    town_admin = await kit.create_user(client, admin, "town_admin", town)
    yield {"kit": kit, "stack": stack, "gateway": gateway, "client": client, "admin": admin, "town_admin": town_admin["headers"],
           "county": county, "town": town, "village": village, "other_town": other_town}
    for server, task, _ in served.values():
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await stack.close()


async def test_a_forwarded_read_carries_the_callers_identity_and_request_id(world):
    client, village = world["client"], world["village"]
    headers = {**world["town_admin"], "X-Request-Id": "net-read-1"}
    response = await client.get(f"/api/v1/grid/units/{village['id']}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == village["id"] and response.json()["name"] == "青龙村"
    assert response.headers["x-request-id"] == "net-read-1"
    assert int(response.headers["content-length"]) == len(response.content)
    # The service saw the town admin's identity: a unit of another town is not there for them.
    outside = await client.get(f"/api/v1/grid/units/{world['other_town']['id']}", headers=world["town_admin"])
    assert outside.status_code == 404 and outside.headers["content-type"].startswith("application/problem+json")
    assert outside.json()["code"] == "not_found"
    anonymous = await client.get(f"/api/v1/grid/units/{village['id']}")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthenticated"
    assert (await client.head(f"/api/v1/grid/units/{village['id']}", headers=headers)).status_code == 405
    # The request metrics name the forwarded route, not "unmatched".
    metrics = (await client.get("/metrics")).text
    assert 'method="GET",route="/api/v1/grid/{path:path}",service="gateway",status="200"' in metrics
    assert 'method="GET",route="/api/v1/grid/{path:path}",service="gateway",status="401"' in metrics


async def test_a_forwarded_write_sends_its_body_and_relays_the_created_record(world):
    client, admin = world["client"], world["admin"]
    body = {"code": f"G{uuid.uuid4().hex[:6]}", "name": "一网格", "level": "grid", "parent_id": world["village"]["id"]}
    created = await client.post("/api/v1/grid/units", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "一网格" and created.json()["parent_id"] == world["village"]["id"]
    again = await client.get(f"/api/v1/grid/units/{created.json()['id']}", headers=admin)
    assert again.json() == created.json()
    refused = await client.post("/api/v1/grid/units", json={**body, "level": "no-such-level"}, headers=admin)
    assert refused.status_code == 422 and refused.json()["code"] == "validation_failed"


async def test_a_large_answer_streams_through_and_query_strings_arrive_as_sent(world):
    client, admin, town = world["client"], world["admin"], world["town"]
    # Repeated and non-ASCII parameters reach the service as the caller encoded them.
    response = await client.get("/api/v1/grid/units", params=[("under", town["id"]), ("q", "青龙"), ("per_page", LISTED_PAGE)],
                                headers=admin)
    assert response.status_code == 200, response.text
    assert [u["name"] for u in response.json()["items"]] == ["青龙村"]
    # Over the buffer size: relayed in chunks, without a length, and whole.
    everything = {"under": world["county"]["id"], "per_page": LISTED_PAGE}
    listed = await client.get("/api/v1/grid/units", params=everything, headers=admin)
    assert listed.status_code == 200 and "content-length" not in listed.headers
    assert {u["name"] for u in listed.json()["items"]} >= {"禹王镇", "青龙村", "裴介镇"}
    # The same page as grid-svc answers a platform admin directly.
    direct = await world["stack"].services["grid"].client.get("/api/v1/grid/units", params=everything, headers=identity_headers())
    assert listed.json() == direct.json()


async def test_a_composed_view_fetches_over_the_network(world):
    response = await world["client"].get(f"/api/v1/views/units/{world['village']['id']}/overview", headers=world["admin"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["degraded"] == []
    assert body["unit"]["name"] == "青龙村"
    assert body["cases_in_progress"] == {"total": 0, "items": []}
    assert body["open_orders"] == {"total": 0, "items": []}


async def test_a_service_that_is_not_listening_answers_503_and_degrades_views(world):
    kit, stack = world["kit"], world["stack"]
    settings = world["gateway"].runtime.settings
    gateway = await kit.start_gateway(stack, "gateway-no-legal", {}, grid_url=settings.grid_url, points_url=settings.points_url,
                                      dispatch_url=settings.dispatch_url, legal_url=f"http://127.0.0.1:{free_port()}")
    headers = await kit.login(gateway.client, **kit.ADMIN)
    down = await gateway.client.get("/api/v1/legal/cases", headers=headers)
    assert down.status_code == 503 and down.json()["code"] == "service_unavailable" and "retry-after" in down.headers
    overview = await gateway.client.get(f"/api/v1/views/units/{world['village']['id']}/overview", headers=headers)
    assert overview.status_code == 200
    assert [(d["section"], d["service"], d["reason"]) for d in overview.json()["degraded"]] == [
        ("cases_in_progress", "legal", "unreachable")]
    assert overview.json()["unit"]["name"] == "青龙村"


async def test_a_connection_the_service_closed_while_idle_is_not_reused(world):
    client, headers = world["client"], world["admin"]
    path = f"/api/v1/grid/units/{world['village']['id']}"
    assert (await client.get(path, headers=headers)).status_code == 200
    # Past uvicorn's keep-alive (5 s), the service has closed the pooled connection.
    await asyncio.sleep(5.5)
    for _ in range(3):
        again = await client.get(path, headers=headers)
        assert again.status_code == 200, again.text


async def test_a_cookie_set_in_one_answer_is_never_sent_with_another_callers_request(world):
    kit, stack = world["kit"], world["stack"]
    # A stand-in for points-svc that sets a cookie and reports the cookies it was sent.
    echo = FastAPI()

    @echo.get("/api/v1/points/set")
    async def set_cookie(response: Response) -> dict:
        response.set_cookie("session", "caller-a")
        return {}

    @echo.get("/api/v1/points/cookies")
    async def cookies(request: Request) -> dict:
        return {"cookie": request.headers.get("cookie")}

    server, task, url = await _serve(echo)
    try:
        settings = world["gateway"].runtime.settings
        # By name: a cookie jar would keep no cookie of a bare IP address anyway.
        by_name = url.replace("127.0.0.1", "localhost")
        gateway = await kit.start_gateway(stack, "gateway-echo-points", {}, grid_url=settings.grid_url, points_url=by_name,
                                          dispatch_url=settings.dispatch_url, legal_url=settings.legal_url)
        headers = await kit.login(gateway.client, **kit.ADMIN)
        first = await gateway.client.get("/api/v1/points/set", headers=headers)
        assert first.status_code == 200 and "session=caller-a" in first.headers["set-cookie"]  # passed on to its caller
        gateway.client.cookies.clear()
        other = await kit.create_user(gateway.client, headers, "town_admin", world["town"])
        later = await gateway.client.get("/api/v1/points/cookies", headers=other["headers"])
        assert later.json() == {"cookie": None}
    finally:
        server.should_exit = True
        await task


async def test_dot_segments_in_a_forwarded_path_do_not_reach_other_paths_of_the_service(world):
    # Sent as raw ASGI: HTTP clients collapse `..` before sending, a hostile caller need not.
    path = "/api/v1/grid/../../../metrics"
    token = world["admin"]["Authorization"].encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
             "headers": [(b"host", b"gateway"), (b"authorization", token)], "server": ("gateway", 80), "client": ("127.0.0.1", 9)}
    sent: list[dict] = []
    request = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict:
        if request:
            return request.pop()
        await asyncio.Event().wait()  # the caller stays connected until the answer is complete
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await world["gateway"].app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert sent[0]["status"] == 404, body
    assert b"http_request_duration_seconds" not in body

