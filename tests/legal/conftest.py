"""Fixtures of the legal-svc tests: legal-svc on a fresh database, grid events fed onto the real broker
exactly as grid-svc's relay sends them, and a reader of what legal-svc publishes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from harness import Databases, Stack, eventually, identity_headers
from legal_svc.db import MIGRATIONS
from legal_svc.main import create_app
from legal_svc.settings import LegalSettings
from shared.events import GRID_TOPIC, LEGAL_TOPIC
from shared.events.base import DomainEvent
from shared.events.envelope import encode
from shared.events.grid import MemberJoined, MemberLeft, UnitCreated
from shared.identity import Identity, Role
from shared.ids import new_id


class GridFeed:
    """Publishes grid-svc events onto the broker (CloudEvents, key = aggregate id), like grid's relay."""

    def __init__(self, producer: AIOKafkaProducer, legal) -> None:  # noqa: ANN001 - a RunningService
        self.producer = producer
        self.legal = legal

    async def publish(self, event: DomainEvent) -> None:
        """Send one event as grid-svc would."""
        message = encode(
            event_id=new_id(), source="/grid-svc", event_type=event.event_type, subject=event.subject,
            time=datetime.now(UTC), data=event.model_dump(mode="json"),
        )
        key = message.key.encode() if isinstance(message.key, str) else message.key
        await self.producer.send_and_wait(GRID_TOPIC, message.value, key=key, headers=list(message.headers.items()))

    async def unit(self, level: str, name: str, parent: dict | None = None) -> dict:
        """Create a unit in grid and wait until legal-svc knows it."""
        unit_id = new_id()
        path = f"{parent['path'] if parent else '/'}{unit_id}/"
        code = f"U{uuid.uuid4().hex[:6]}"
        await self.publish(
            UnitCreated(
                unit_id=unit_id, code=code, full_code=f"{parent['full_code']}.{code}" if parent else code, name=name,
                level=level, parent_id=parent["id"] if parent else None, path=path,
            )
        )
        await eventually(lambda: self._known(unit_id))
        return {"id": unit_id, "path": path, "full_code": f"{parent['full_code']}.{code}" if parent else code, "name": name}

    async def _known(self, unit_id: str) -> bool:
        response = await self.legal.client.get(f"/api/v1/legal/units/{unit_id}", headers=identity_headers())
        return response.status_code == 200

    async def member_joined(self, person_id: str, name: str, org_unit: dict, joined_on: date) -> str:
        """A person joined a party organisation."""
        member_id = new_id()
        await self.publish(
            MemberJoined(
                member_id=member_id, person_id=person_id, name=name, party_org_id=new_id(), org_kind="branch",
                org_unit_id=org_unit["id"], org_unit_path=org_unit["path"], joined_on=joined_on,
            )
        )
        return member_id

    async def member_left(self, member_id: str, person_id: str, left_on: date) -> None:
        """A member left their organisation."""
        await self.publish(MemberLeft(member_id=member_id, person_id=person_id, left_on=left_on, reason="transferred"))


class LegalEvents:
    """Everything legal-svc published on `legal.events`, read by a consumer group of the test's own."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer
        self.seen: list[tuple[str, dict]] = []

    async def _poll(self) -> None:
        for records in (await self.consumer.getmany(timeout_ms=200)).values():
            for record in records:
                self.seen.append((dict(record.headers)["ce_type"].decode(), json.loads(record.value)))

    async def find(self, event_type: type[DomainEvent], **match) -> dict:  # noqa: ANN003
        """Wait for an event of `event_type` whose fields include `match`; return its data."""

        async def probe() -> dict | None:
            await self._poll()
            for seen_type, data in self.seen:
                if seen_type == event_type.event_type and all(data.get(k) == v for k, v in match.items()):
                    return data
            return None

        return await eventually(probe)

    def count(self, event_type: type[DomainEvent], **match) -> int:  # noqa: ANN003
        """How many events of `event_type` matching `match` were seen so far."""
        return sum(1 for t, d in self.seen if t == event_type.event_type and all(d.get(k) == v for k, v in match.items()))


@pytest.fixture(scope="module")
async def stack(backend, broker, tmp_path_factory):
    """legal-svc alone on the module's broker and a fresh database of the module's backend."""
    stack = Stack(broker.bootstrap_servers, Databases(backend, tmp_path_factory.mktemp("dbs")))
    await stack.start("legal", create_app, LegalSettings, MIGRATIONS)
    await stack.wait_consumers_assigned()
    yield stack
    await stack.close()


@pytest.fixture(scope="module")
def legal(stack):
    """The running legal-svc."""
    return stack.services["legal"]


@pytest.fixture(scope="module")
async def grid_feed(broker, legal):
    """A producer of grid events."""
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    await producer.start()
    yield GridFeed(producer, legal)
    await producer.stop()


@pytest.fixture(scope="module")
async def legal_events(broker):
    """A reader of legal.events from the beginning."""
    consumer = AIOKafkaConsumer(
        LEGAL_TOPIC, bootstrap_servers=broker.bootstrap_servers, group_id=f"test-{uuid.uuid4().hex}",
        auto_offset_reset="earliest", session_timeout_ms=6000, fetch_max_wait_ms=20,
    )
    await consumer.start()
    yield LegalEvents(consumer)
    await consumer.stop()


@pytest.fixture(scope="module")
async def tree(grid_feed):
    """夏县 → 禹王镇 → 两个村; and a second town."""
    county = await grid_feed.unit("county", "夏县")
    town = await grid_feed.unit("town", "禹王镇", county)
    village = await grid_feed.unit("village", "东村", town)
    other_village = await grid_feed.unit("village", "西村", town)
    other_town = await grid_feed.unit("town", "水头镇", county)
    return {"county": county, "town": town, "village": village, "other_village": other_village, "other_town": other_town}


def as_role(role: Role, unit: dict | None, subject: str | None = None, name: str = "") -> dict[str, str]:
    """Headers calling as `role` scoped to `unit`."""
    subject = subject or f"{role.value}-{uuid.uuid4().hex[:6]}"
    return identity_headers(Identity(subject=subject, name=name or subject, role=role, scope_unit_id=unit["id"] if unit else None))


@pytest.fixture(scope="module")
def roles(tree):
    """Callers of each role the tests need."""
    return {
        "town_admin": as_role(Role.TOWN_ADMIN, tree["town"], "town-admin-1", "镇管理员"),
        "mediator": as_role(Role.MEDIATOR, tree["town"], "mediator-1", "调解员甲"),
        "secretary": as_role(Role.VILLAGE_SECRETARY, tree["village"], "secretary-1"),
        "other_secretary": as_role(Role.VILLAGE_SECRETARY, tree["other_village"], "secretary-2"),
        "grid_worker": as_role(Role.GRID_WORKER, tree["village"], "worker-1"),
        "party_member": as_role(Role.PARTY_MEMBER, tree["town"], "member-1"),
        "auditor": as_role(Role.AUDITOR, tree["town"], "auditor-1"),
        "other_town_admin": as_role(Role.TOWN_ADMIN, tree["other_town"], "town-admin-2"),
        "readonly_key": identity_headers(
            Identity(subject="key-1", role=Role.SYSTEM, scope_unit_id=tree["town"]["id"], rights={"legal": "read"})
        ),
    }


