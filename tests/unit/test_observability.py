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
from shared import ids as ids_module
from shared.ids import new_id
from shared.observability import Metrics, RequestContextMiddleware

CROCKFORD = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def test_new_ids_are_ulids_of_now_in_the_order_they_were_made():
    before = time.time()
    ids = [new_id() for _ in range(10_000)]  # many share a millisecond
    after = time.time()
    assert all(CROCKFORD.match(i) for i in ids)
    assert all(int(before * 1000) <= ulid_to_timestamp(i) <= after * 1000 for i in ids)  # milliseconds
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    time.sleep(0.002)
    assert new_id() > ids[-1]


def test_new_ids_stay_ordered_when_the_clock_steps_back_or_a_millisecond_runs_out(monkeypatch):
    ahead = int(time.time() * 1000) + 10_000  # as if the clock had stepped back ten seconds since
    monkeypatch.setattr(ids_module, "_last", (ahead, (1 << 80) - 2))
    first, second = new_id(), new_id()
    assert ulid_to_timestamp(first) == ahead and ulid_to_timestamp(second) == ahead + 1  # the random part ran out
    assert first < second


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
