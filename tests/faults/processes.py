"""The platform as real processes on PostgreSQL, for fault tests: broker, five services, their databases.

One stack per module (starting five processes and joining four consumer groups costs seconds).
Faults are real: the broker is frozen with SIGSTOP, services are killed with SIGKILL, and the
databases are made to fail with triggers and refused connections. Effects are counted in the
services' own databases, so "exactly once" is checked row by row, not inferred from an API.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from devstack.stack import ProcessStack
from harness import eventually, identity_headers
from shared.testing import create_postgres_database, drop_postgres_database, postgres_available

POSTGRES_UP = postgres_available()
SERVICE_NAMES = ("grid-svc", "points-svc", "dispatch-svc", "legal-svc", "gateway")
ADMIN = identity_headers()

# Short enough that a killed consumer's partitions move on quickly, long enough for 2 busy cores.
PROCESS_ENV = {
    "KAFKA_TOPIC_PARTITIONS": "3",
    "KAFKA_SESSION_TIMEOUT_MS": "6000",
    "KAFKA_FETCH_MAX_WAIT_MS": "20",
    "KAFKA_REQUEST_TIMEOUT_S": "5",
    "LOG_LEVEL": "WARNING",
    "UPSTREAM_TIMEOUT_S": "3",
    "UPSTREAM_CONNECT_TIMEOUT_S": "1",
    "VIEW_TIMEOUT_S": "2",
    "BREAKER_RESET_S": "2",
    "OVERDUE_SWEEP_INTERVAL_S": "0",
}


def require_postgres() -> None:
    """Fault tests run on PostgreSQL only (the in-process suites cover SQLite); CI makes it mandatory."""
    if POSTGRES_UP:
        return
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail("PostgreSQL is required (REQUIRE_POSTGRES=1) but not reachable at 127.0.0.1:5432")
    pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")


def plain_dsn(url: str) -> str:
    """asyncpg's DSN for a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@dataclass
class Platform:
    """The running processes, an HTTP client per service, and direct SQL access to each database."""

    stack: ProcessStack
    urls: dict[str, str]
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    connections: dict[str, asyncpg.Connection] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        """The broker's address."""
        assert self.stack.broker is not None
        return self.stack.broker.bootstrap_servers

    def client(self, name: str) -> httpx.AsyncClient:
        """A client to one service process (a new one after a restart is not needed: connections are per request)."""
        if name not in self.clients:
            self.clients[name] = httpx.AsyncClient(base_url=self.stack.services[name].url, timeout=30)
        return self.clients[name]

    async def _connection(self, name: str) -> asyncpg.Connection:
        # One connection per database, kept: polling must not churn (or exhaust) the server's connection slots.
        conn = self.connections.get(name)
        if conn is None or conn.is_closed():
            conn = self.connections[name] = await asyncpg.connect(plain_dsn(self.urls[name]))
        return conn

    async def sql(self, name: str, query: str, *args: Any) -> list[asyncpg.Record]:
        """Run one query on a service's database and return its rows."""
        try:
            return await (await self._connection(name)).fetch(query, *args)
        except (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError, asyncpg.AdminShutdownError):
            self.connections.pop(name, None)  # terminated by a fault scenario: connect again
            return await (await self._connection(name)).fetch(query, *args)

    async def scalar(self, name: str, query: str, *args: Any) -> Any:
        """The first column of the first row."""
        rows = await self.sql(name, query, *args)
        return rows[0][0] if rows else None

    async def execute(self, name: str, statement: str) -> None:
        """Run DDL or a change on a service's database (on a connection of its own: it may end others)."""
        conn = await asyncpg.connect(plain_dsn(self.urls[name]))
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    async def restart(self, name: str) -> None:
        """Start a stopped or killed service again and wait until it answers /readyz."""
        process = self.stack.services[name].process
        if process is not None:
            await asyncio.to_thread(process.wait)
        self.stack.start_service(name)
        await asyncio.to_thread(self.stack.wait_ready, name, timeout=90)

    async def counter(self, name: str, metric: str, **labels: str) -> float:
        """One sample of a service's Prometheus metrics (0 when absent)."""
        for sample in await asyncio.to_thread(self.stack.metric_samples, name):
            if sample.name == metric and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
        return 0.0

    def cli(self, name: str, *args: str) -> subprocess.CompletedProcess:
        """Run a service's command line with the service's own environment."""
        service = self.stack.services[name]
        return subprocess.run(
            [sys.executable, "-m", service.package, *args], env=service.env, capture_output=True, text=True, timeout=120
        )

    async def close(self) -> None:
        """Close the clients and connections."""
        for client in self.clients.values():
            await client.aclose()
        self.clients.clear()
        for conn in self.connections.values():
            await conn.close()
        self.connections.clear()


async def read_topic(bootstrap: str, topic: str, *, keep: set[str] | None = None) -> list[tuple[int, str, Any]]:
    """Every record now in `topic` as (partition, ce_id, record); only ids in `keep` when given."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[tuple[int, str, Any]] = []

        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in partitions])

        while await behind():
            for records in (await consumer.getmany(timeout_ms=500, max_records=2000)).values():
                for record in records:
                    ce_id = dict(record.headers).get("ce_id", b"").decode()
                    if keep is None or ce_id in keep:
                        found.append((record.partition, ce_id, record))
        return found
    finally:
        await consumer.stop()


async def republish(bootstrap: str, records: list[Any]) -> None:
    """Send records again exactly as they were (same ce_id): a redelivery."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(record.topic, record.value, key=record.key, headers=list(record.headers))
    finally:
        await producer.stop()


@dataclass
class World:
    """County → town → village, two lecturers who are party members, and a lecture rule in the town."""

    county: dict
    town: dict
    village: dict
    lecturers: list[dict]
    members: list[dict]
    rule: dict


async def post(client: httpx.AsyncClient, path: str, body: dict, headers: dict[str, str] = ADMIN) -> dict:
    """POST that must create."""
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, f"{path}: {response.status_code} {response.text}"
    return response.json()


async def build_world(platform: Platform) -> World:
    """The little registry every fault scenario writes into, known to every consumer before faults start."""
    grid = platform.client("grid-svc")
    units: dict[str, dict] = {}
    parent = None
    for level, name in (("county", "夏县"), ("town", "禹王镇"), ("village", "东村")):
        body = {"code": f"F{uuid.uuid4().hex[:8]}", "name": name, "level": level, "parent_id": parent["id"] if parent else None}
        parent = units[level] = await post(grid, "/api/v1/grid/units", body)
    lecturers, members = [], []
    for name in ("王讲师", "李讲师"):
        person = await post(grid, "/api/v1/grid/people", {"name": name, "unit_id": units["village"]["id"]})
        member = await post(
            grid, "/api/v1/grid/party/members", {"person_id": person["id"], "unit_id": units["village"]["id"], "joined_on": "2015-07-01"}
        )
        lecturers.append(person)
        members.append(member)
    points, dispatch = platform.client("points-svc"), platform.client("dispatch-svc")

    async def known() -> bool:
        checks = [
            await points.get(f"/api/v1/points/units/{units['town']['id']}", headers=ADMIN),
            *[await points.get(f"/api/v1/points/members/{m['id']}", headers=ADMIN) for m in members],
            *[await dispatch.get(f"/api/v1/dispatch/roster/people/{p['id']}", headers=ADMIN) for p in lecturers],
            await platform.client("legal-svc").get(f"/api/v1/legal/units/{units['village']['id']}", headers=ADMIN),
        ]
        return all(r.status_code == 200 for r in checks)

    await eventually(known, timeout=120)
    rule = await post(
        points,
        "/api/v1/points/rules",
        {"town_unit_id": units["town"]["id"], "code": "LECTURE", "name": "微讲堂授课", "category": "lecture", "points": 2,
         "trigger": "lecture_held", "active_from": "2020-01-01"},
    )
    return World(units["county"], units["town"], units["village"], lecturers, members, rule)


def lecture_body(world: World, theme: str) -> dict:
    """A lecture in the village held an hour ago by both lecturers (each a party member: two points entries)."""
    held_at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return {
        "unit_id": world.village["id"], "theme": theme, "place": "村委会", "held_at": held_at,
        "lecturer_person_ids": [p["id"] for p in world.lecturers], "attendees": 30,
    }


async def post_lectures(platform: Platform, world: World, count: int, *, prefix: str, concurrency: int = 12) -> list[str]:
    """Record `count` lectures concurrently through dispatch-svc; return their ids."""
    dispatch = platform.client("dispatch-svc")
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> str:
        async with gate:
            return (await post(dispatch, "/api/v1/dispatch/lectures", lecture_body(world, f"{prefix}-{i} 防范电信诈骗")))["id"]

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def lecture_entries(platform: Platform, lecture_ids: list[str]) -> tuple[int, int]:
    """(points entries for these lectures, (lecture, person) pairs with more than one entry)."""
    rows = await platform.sql(
        "points-svc",
        "SELECT source_ref, person_id, count(*) AS n FROM entries WHERE source_kind = 'lecture_held' AND source_ref = ANY($1::text[])"
        " GROUP BY source_ref, person_id",
        lecture_ids,
    )
    return sum(r["n"] for r in rows), sum(1 for r in rows if r["n"] > 1)


@pytest.fixture(scope="module")
async def platform(tmp_path_factory) -> Platform:
    """Broker + five service processes, each on a fresh PostgreSQL database."""
    require_postgres()
    urls = {name: await create_postgres_database(prefix="fault_" + name.replace("-", "_")) for name in SERVICE_NAMES}
    stack = ProcessStack(var=Path(tmp_path_factory.mktemp("faults")), database_urls=urls, extra_env=PROCESS_ENV)
    try:
        await asyncio.to_thread(stack.start)
    except BaseException:
        await asyncio.to_thread(stack.stop)
        raise
    running = Platform(stack=stack, urls=urls)
    try:
        yield running
    finally:
        await running.close()
        await asyncio.to_thread(stack.stop)
        for url in urls.values():
            await drop_postgres_database(url)


@pytest.fixture(scope="module")
async def world(platform) -> World:
    """The registry the scenarios write into."""
    return await build_world(platform)
