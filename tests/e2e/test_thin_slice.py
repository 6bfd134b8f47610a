"""The foundation's thin slice: a unit created through the gateway reaches every read model."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from dispatch_svc.db import MIGRATIONS as DISPATCH_MIGRATIONS
from dispatch_svc.main import create_app as create_dispatch
from dispatch_svc.settings import DispatchSettings
from gateway.db import MIGRATIONS as GATEWAY_MIGRATIONS
from gateway.main import create_app as create_gateway
from gateway.settings import GatewaySettings
from grid_svc.db import MIGRATIONS as GRID_MIGRATIONS
from grid_svc.main import create_app as create_grid
from grid_svc.settings import GridSettings
from harness import Databases, Stack, advance_end_offsets, eventually, identity_headers
from legal_svc.db import MIGRATIONS as LEGAL_MIGRATIONS
from legal_svc.main import create_app as create_legal
from legal_svc.settings import LegalSettings
from points_svc.db import MIGRATIONS as POINTS_MIGRATIONS
from points_svc.main import create_app as create_points
from points_svc.settings import PointsSettings
from shared.dlq import read_dead_letters
from shared.events import GRID_TOPIC, dlq_topic
from shared.events.grid import UnitCreated

CONSUMERS = ("points", "dispatch", "legal")


@pytest.fixture(scope="module")
async def stack(backend, broker, tmp_path_factory):
    stack = Stack(broker.bootstrap_servers, Databases(backend, tmp_path_factory.mktemp("dbs")))
    await stack.start("grid", create_grid, GridSettings, GRID_MIGRATIONS)
    await stack.start("points", create_points, PointsSettings, POINTS_MIGRATIONS)
    await stack.start("dispatch", create_dispatch, DispatchSettings, DISPATCH_MIGRATIONS)
    await stack.start("legal", create_legal, LegalSettings, LEGAL_MIGRATIONS)
    transports = {name: httpx.ASGITransport(app=stack.services[name].app) for name in ("grid", *CONSUMERS)}
    await stack.start("gateway", create_gateway, GatewaySettings, GATEWAY_MIGRATIONS, app_kwargs={"transports": transports})
    await stack.wait_consumers_assigned()
    yield stack
    await stack.close()


@pytest.fixture(scope="module")
async def admin_token(stack) -> dict[str, str]:
    response = await stack.services["gateway"].client.post(
        "/api/v1/auth/token", data={"username": "admin", "password": "admin12345"}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _create_county(client: httpx.AsyncClient, headers: dict[str, str], code: str | None = None) -> dict:
    code = code or f"C{uuid.uuid4().hex[:8]}"
    response = await client.post("/api/v1/grid/units", json={"code": code, "name": "夏县", "level": "county"}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _known_everywhere(stack: Stack, unit_id: str, via: httpx.AsyncClient, headers: dict[str, str]) -> bool:
    for domain in CONSUMERS:
        response = await via.get(f"/api/v1/{domain}/units/{unit_id}", headers=headers)
        if response.status_code != 200:
            return False
    return True


async def test_unit_created_through_gateway_reaches_every_read_model(stack, admin_token):
    gateway = stack.services["gateway"].client
    county = await _create_county(gateway, admin_token)
    town = await gateway.post(
        "/api/v1/grid/units", json={"code": "YW", "name": "禹王镇", "level": "town", "parent_id": county["id"]}, headers=admin_token
    )
    assert town.status_code == 201, town.text
    town_id = town.json()["id"]

    await eventually(lambda: _known_everywhere(stack, town_id, gateway, admin_token))
    for domain in CONSUMERS:
        copy = (await gateway.get(f"/api/v1/{domain}/units/{town_id}", headers=admin_token)).json()
        assert copy["name"] == "禹王镇"
        assert copy["level"] == "town"
        assert copy["parent_id"] == county["id"]
        assert copy["path"] == f"/{county['id']}/{town_id}/"
        listed = (await gateway.get(f"/api/v1/{domain}/units", params={"under": county["id"]}, headers=admin_token)).json()
        assert [u["id"] for u in listed["items"]] == [town_id]


async def test_events_carry_cloudevents_headers_keyed_by_aggregate(stack, broker):
    grid = stack.services["grid"].client
    county = await _create_county(grid, identity_headers())
    consumer = AIOKafkaConsumer(
        GRID_TOPIC,
        bootstrap_servers=broker.bootstrap_servers,
        group_id=f"test-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    try:
        async def find():
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if record.key == county["id"].encode():
                        return record
            return None

        record = await eventually(find)
    finally:
        await consumer.stop()
    headers = dict(record.headers)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == UnitCreated.event_type.encode()
    assert headers["ce_source"] == b"/grid-svc"
    assert headers["ce_subject"] == county["id"].encode()
    assert headers["content-type"] == b"application/json"
    assert headers["ce_id"] and headers["ce_time"]
    body = json.loads(record.value)
    assert body["unit_id"] == county["id"]
    assert body["level"] == "county"
    assert body["name"] == "夏县"


async def _send(bootstrap: str, topic: str, value: bytes, *, key: bytes, headers: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


def _consumer(stack: Stack, domain: str, name: str):  # noqa: ANN202 - the service's inbox consumer
    return next(consumer for consumer in stack.services[domain].runtime.consumers if consumer.name == name)


async def test_redelivered_event_has_one_effect(stack, broker):
    grid = stack.services["grid"].client
    county = await _create_county(grid, identity_headers())
    dispatch = stack.services["dispatch"]
    await eventually(lambda: _status_is(dispatch.client, f"/api/v1/dispatch/units/{county['id']}", 200))
    consumer = dispatch.runtime.consumers[0]
    processed, duplicates = consumer.processed, consumer.duplicates

    record = await _first_record_for(broker.bootstrap_servers, county["id"])
    for _ in range(2):
        await _send(broker.bootstrap_servers, GRID_TOPIC, record.value, key=record.key, headers=list(record.headers))
    await eventually(lambda: _at_least(lambda: consumer.duplicates, duplicates + 2))
    assert consumer.processed == processed
    listed = (await dispatch.client.get("/api/v1/dispatch/units", headers=identity_headers())).json()
    assert [u["id"] for u in listed["items"]].count(county["id"]) == 1
    metrics = (await dispatch.client.get("/metrics")).text
    assert f'events_consumed_total{{consumer="dispatch-svc.grid",outcome="duplicate",service="dispatch-svc"}} {float(consumer.duplicates)}' in metrics


async def test_poison_event_goes_to_dlq_and_processing_continues(stack, broker):
    grid_consumers = [_consumer(stack, domain, f"{domain}-svc.grid") for domain in CONSUMERS]
    dead_before = [consumer.dead_lettered for consumer in grid_consumers]
    poison_id = f"poison-{uuid.uuid4().hex}"
    await _send(
        broker.bootstrap_servers,
        GRID_TOPIC,
        b'{"unit_id": "X", "level": "not-a-level"}',
        key=b"X",
        headers=[
            ("ce_id", poison_id.encode()),
            ("ce_source", b"/grid-svc"),
            ("ce_type", UnitCreated.event_type.encode()),
            ("ce_specversion", b"1.0"),
            ("content-type", b"application/json"),
        ],
    )
    county = await _create_county(stack.services["grid"].client, identity_headers())
    for domain in CONSUMERS:
        service = stack.services[domain]
        await eventually(lambda s=service: _status_is(s.client, f"/api/v1/{s.name}/units/{county['id']}", 200))

    # A consumer counts a dead letter once the broker has acknowledged it; the three land on one partition at the
    # same moment, which can leave the local broker's end offset short of them (see advance_end_offsets).
    for consumer, before in zip(grid_consumers, dead_before, strict=True):
        await eventually(lambda c=consumer, n=before: _at_least(lambda: c.dead_lettered, n + 1))
    await advance_end_offsets(broker.bootstrap_servers, dlq_topic(GRID_TOPIC))

    async def dead_lettered() -> dict[str, str]:
        letters = await read_dead_letters(broker.bootstrap_servers, GRID_TOPIC)
        seen = {letter.consumer: letter.error for letter in letters if letter.event_id == poison_id}
        return seen if len(seen) == len(CONSUMERS) else {}

    seen = await eventually(dead_lettered)
    assert set(seen) == {f"{d}-svc.grid" for d in CONSUMERS}
    assert all("level" in error for error in seen.values())


async def test_writes_while_broker_is_paused_are_all_delivered(stack, broker):
    grid = stack.services["grid"].client
    county = await _create_county(grid, identity_headers())
    await eventually(lambda: _status_is(stack.services["legal"].client, f"/api/v1/legal/units/{county['id']}", 200))
    broker.pause()
    try:
        created = []
        for i in range(20):
            response = await grid.post(
                "/api/v1/grid/units",
                json={"code": f"T{i}", "name": f"镇{i}", "level": "town", "parent_id": county["id"]},
                headers=identity_headers(),
            )
            assert response.status_code == 201, response.text
            created.append(response.json()["id"])
        await asyncio.sleep(1)  # let the relay try, and fail, while the broker is frozen
    finally:
        broker.resume()

    async def all_delivered() -> bool:
        for domain in CONSUMERS:
            service = stack.services[domain]
            listed = await service.client.get(
                f"/api/v1/{domain}/units", params={"under": county["id"], "per_page": 50}, headers=identity_headers()
            )
            if listed.status_code != 200 or listed.json()["total"] != len(created):
                return False
        return True

    await eventually(all_delivered, timeout=120)


async def _status_is(client: httpx.AsyncClient, path: str, status: int) -> bool:
    return (await client.get(path, headers=identity_headers())).status_code == status


async def _at_least(read, value: int) -> bool:  # noqa: ANN001
    return read() >= value


async def _first_record_for(bootstrap: str, key: str):  # noqa: ANN202
    consumer = AIOKafkaConsumer(
        GRID_TOPIC,
        bootstrap_servers=bootstrap,
        group_id=f"test-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    try:
        async def find():
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    if record.key == key.encode():
                        return record
            return None

        return await eventually(find)
    finally:
        await consumer.stop()
