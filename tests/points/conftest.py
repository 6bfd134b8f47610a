"""points-svc test world: a running points-svc on the real broker, fed grid, dispatch and legal
events exactly as those services' relays publish them (CloudEvents on their topics)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from harness import Databases, Stack, eventually, identity_headers
from points_svc.db import MIGRATIONS
from points_svc.main import create_app
from points_svc.settings import PointsSettings
from shared.events.base import DomainEvent
from shared.events.envelope import encode
from shared.events.grid import MemberJoined, UnitCreated
from shared.identity import Identity, Role
from shared.ids import new_id

SOURCES = {"grid.events": "/grid-svc", "dispatch.events": "/dispatch-svc", "legal.events": "/legal-svc"}


class Publisher:
    """Publishes domain events the way a producing service's outbox relay does."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")

    async def publish(self, event: DomainEvent, *, event_id: str | None = None) -> str:
        """Send `event` as a CloudEvent; return its id (pass it again to redeliver the same event)."""
        event_id = event_id or new_id()
        message = encode(
            event_id=event_id, source=SOURCES[event.topic], event_type=event.event_type, subject=event.subject,
            time=datetime.now(UTC), data=event.model_dump(mode="json"),
        )
        key = message.key.encode() if isinstance(message.key, str) else message.key
        await self.producer.send_and_wait(event.topic, message.value, key=key, headers=list(message.headers.items()))
        return event_id


@dataclass
class Unit:
    id: str
    path: str


@dataclass
class World:
    """A county → town → villages tree and party members, known to points-svc through events."""

    client: httpx.AsyncClient
    publisher: Publisher
    county: Unit | None = None
    town: Unit | None = None
    villages: list[Unit] = field(default_factory=list)

    async def unit(self, level: str, parent: Unit | None, name: str) -> Unit:
        """Publish UnitCreated and wait until points-svc knows the unit."""
        unit_id = new_id()
        path = f"{parent.path if parent else '/'}{unit_id}/"
        await self.publisher.publish(
            UnitCreated(unit_id=unit_id, code=f"U{uuid.uuid4().hex[:8]}", full_code=unit_id, name=name, level=level,
                        parent_id=parent.id if parent else None, path=path)
        )
        await eventually(lambda: _status_is(self.client, f"/api/v1/points/units/{unit_id}", 200))
        return Unit(unit_id, path)

    async def build(self, villages: int = 2) -> World:
        """County, town and `villages` villages."""
        self.county = await self.unit("county", None, "夏县")
        self.town = await self.unit("town", self.county, "禹王镇")
        for i in range(villages):
            self.villages.append(await self.unit("village", self.town, f"村{i}"))
        return self

    async def member(self, village: Unit, name: str, *, person_id: str | None = None, org_unit: Unit | None = None) -> dict:
        """Publish MemberJoined (branch of `village`, or a group on `org_unit`) and wait for the roster."""
        member_id, person_id = new_id(), person_id or new_id()
        org = org_unit or village
        await self.publisher.publish(
            MemberJoined(member_id=member_id, person_id=person_id, name=name, party_org_id=new_id(),
                         org_kind="branch" if org_unit is None else "group", org_unit_id=org.id, org_unit_path=org.path,
                         joined_on=date(2020, 1, 1))
        )
        await eventually(lambda: _status_is(self.client, f"/api/v1/points/members/{member_id}", 200))
        return (await self.client.get(f"/api/v1/points/members/{member_id}", headers=identity_headers())).json()

    async def rule(self, code: str, category: str, points: int, **extra) -> dict:
        """Add a rule to the town."""
        body = {"town_unit_id": self.town.id, "code": code, "name": f"规则{code}", "category": category, "points": points,
                "active_from": "2020-01-01", **extra}
        response = await self.client.post("/api/v1/points/rules", json=body, headers=identity_headers())
        assert response.status_code == 201, response.text
        return response.json()

    def secretary(self, village: Unit) -> dict[str, str]:
        """Headers of the village's party secretary."""
        return identity_headers(Identity(subject=f"sec-{village.id}", role=Role.VILLAGE_SECRETARY, scope_unit_id=village.id))


async def _status_is(client: httpx.AsyncClient, path: str, status: int) -> bool:
    return (await client.get(path, headers=identity_headers())).status_code == status


@pytest.fixture(scope="module")
async def stack(backend, broker, tmp_path_factory):
    """points-svc alone on the module's broker and a fresh database of the backend."""
    stack = Stack(broker.bootstrap_servers, Databases(backend, tmp_path_factory.mktemp("dbs")))
    await stack.start("points", create_app, PointsSettings, MIGRATIONS, notice_objection_working_days=0)
    await stack.wait_consumers_assigned()
    yield stack
    await stack.close()


@pytest.fixture(scope="module")
async def publisher(stack, broker):
    """A producer standing in for grid-svc's, dispatch-svc's and legal-svc's relays."""
    publisher = Publisher(broker.bootstrap_servers)
    await publisher.producer.start()
    yield publisher
    await publisher.producer.stop()


@pytest.fixture(scope="module")
async def world(stack, publisher) -> World:
    """A tree with two villages, known to points-svc."""
    return await World(stack.services["points"].client, publisher).build()
