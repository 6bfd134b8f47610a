"""dispatch-svc under test: one running app per module on a fresh database and the module's broker.

The app runs on a `FixedClock` the tests move by hand; the background overdue job is off.
"""

from __future__ import annotations

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from dispatch.world import START, EventTap, GridFeed, Tree, known

from dispatch_svc.clock import FixedClock
from dispatch_svc.db import MIGRATIONS
from dispatch_svc.main import create_app
from dispatch_svc.settings import DispatchSettings
from harness import Databases, Stack, eventually


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    """The module's controllable clock."""
    return FixedClock(START)


@pytest.fixture(scope="module")
async def stack(request, backend, broker, tmp_path_factory, clock):
    """dispatch-svc alone on a fresh database. The background overdue job is off unless the module
    sets OVERDUE_SWEEP_INTERVAL_S (tests sweep by hand, on the controllable clock)."""
    stack = Stack(broker.bootstrap_servers, Databases(backend, tmp_path_factory.mktemp("dispatch")))
    interval = getattr(request.module, "OVERDUE_SWEEP_INTERVAL_S", 0)
    await stack.start("dispatch", create_app, DispatchSettings, MIGRATIONS, app_kwargs={"clock": clock}, overdue_sweep_interval_s=interval)
    await stack.wait_consumers_assigned()
    yield stack
    await stack.close()


@pytest.fixture(scope="module")
def client(stack) -> httpx.AsyncClient:
    """A client to dispatch-svc."""
    return stack.services["dispatch"].client


@pytest.fixture(scope="module")
async def feed(broker):
    """Produces grid-svc events."""
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    await producer.start()
    yield GridFeed(producer)
    await producer.stop()


@pytest.fixture(scope="module")
async def tap(broker, stack):
    """Everything dispatch-svc publishes."""
    tap = EventTap(broker.bootstrap_servers)
    await tap.start()
    yield tap
    await tap.stop()


@pytest.fixture(scope="module")
async def tree(feed, client) -> Tree:
    """A small grid tree, known to dispatch-svc before the tests start."""
    county = await feed.unit("county", "夏县")
    town = await feed.unit("town", "禹王镇", county)
    village_a = await feed.unit("village", "禹王村", town)
    grid_a = await feed.unit("grid", "第一网格", village_a)
    small_a = await feed.unit("small_grid", "第一小网格", grid_a)
    micro_a1 = await feed.unit("micro_grid", "一组", small_a)
    micro_a2 = await feed.unit("micro_grid", "二组", small_a)
    village_b = await feed.unit("village", "青龙村", town)
    grid_b = await feed.unit("grid", "青龙第一网格", village_b)
    small_b = await feed.unit("small_grid", "青龙小网格", grid_b)
    micro_b = await feed.unit("micro_grid", "青龙一组", small_b)
    for unit in (micro_a1, micro_a2, micro_b):
        await eventually(lambda u=unit: known(client, f"/api/v1/dispatch/units/{u.id}"))
    return Tree(county, town, village_a, grid_a, small_a, micro_a1, micro_a2, village_b, micro_b)
