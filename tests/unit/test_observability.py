"""What every request passes through: its id, its metrics, and no OpenTelemetry lookups."""

from __future__ import annotations

import re
import time

import httpx
from fastapi import FastAPI
from opentelemetry import trace
from prometheus_client.parser import text_string_to_metric_families
from ulid_transform import ulid_to_timestamp

from grid_svc.main import create_app
from grid_svc.settings import GridSettings
from shared.ids import new_id
from shared.observability import Metrics, RequestContextMiddleware

CROCKFORD = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def test_new_ids_are_ulids_of_now_ordered_by_time_and_distinct():
    before = time.time()
    ids = [new_id() for _ in range(10_000)]
    after = time.time()
    assert all(CROCKFORD.match(i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert all(int(before * 1000) <= ulid_to_timestamp(i) <= after * 1000 for i in ids)  # milliseconds
    time.sleep(0.002)
    later = new_id()
    assert later > max(ids)  # a later millisecond sorts after every id of an earlier one


def _durations(metrics: Metrics) -> dict[tuple[str, str, str], float]:
    counts = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            if sample.name == "http_request_duration_seconds_count":
                counts[(sample.labels["method"], sample.labels["route"], sample.labels["status"])] = sample.value
    return counts


async def test_each_request_is_counted_under_its_route_and_status():
    metrics = Metrics("things-svc")
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def read_thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    app.add_middleware(RequestContextMiddleware, metrics=metrics, max_body_bytes=1000)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
        for path in ("/things/1", "/things/2", "/things/x", "/elsewhere", "/things/3"):
            response = await client.get(path)
            assert response.headers["x-request-id"]
    assert _durations(metrics) == {
        ("GET", "/things/{thing_id}", "200"): 3,
        ("GET", "/things/{thing_id}", "422"): 1,
        ("GET", "unmatched", "404"): 1,
    }


async def test_a_service_asks_no_opentelemetry_provider_on_a_request(monkeypatch):
    asked = []
    default = trace.get_tracer_provider
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: asked.append(1) or default())
    plain = FastAPI()
    plain.get("/healthz")(lambda: {"status": "ok"})
    service = create_app(GridSettings(database_url="sqlite+aiosqlite:///:memory:"))
    for app in (plain, service):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
            assert (await client.get("/healthz")).status_code == 200
    # FastAPI's own hooks look for an installed SDK on each request of an app left as it comes, not of ours.
    assert len(asked) == 1
