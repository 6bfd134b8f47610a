"""The world dispatch-svc tests live in: grid-svc's events produced by hand, dispatch's events read back.

Grid-svc's events are produced onto the real broker exactly as its relay would (CloudEvents in
binary mode, keyed by aggregate id); dispatch's own events are read back from `dispatch.events`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from harness import PLATFORM_ADMIN, eventually, identity_headers
from shared.events import DISPATCH_TOPIC
from shared.events.base import DomainEvent
from shared.events.envelope import decode, encode
from shared.events.grid import HouseholdRegistered, LiaisonLinked, MemberJoined, PersonJoined, UnitCreated
from shared.identity import Identity, Role
from shared.ids import new_id

# 2026-03-10 09:00 in Asia/Shanghai.
START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)


class GridFeed:
    """Publishes grid-svc events onto the broker as grid-svc's outbox relay would."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    async def send(self, *events: DomainEvent) -> None:
        """Publish events in order, each keyed by its aggregate id."""
        for event in events:
            message = encode(
                event_id=new_id(), source="/grid-svc", event_type=event.event_type, subject=event.subject,
                time=datetime.now(UTC), data=event.model_dump(mode="json"),
            )
            key = message.key.encode() if isinstance(message.key, str) else message.key
            await self.producer.send_and_wait(type(event).topic, message.value, key=key, headers=list(message.headers.items()))

    async def unit(self, level: str, name: str, parent: Unit | None = None) -> Unit:
        """A unit under `parent` (a county without one)."""
        unit_id = new_id()
        path = f"{parent.path if parent else '/'}{unit_id}/"
        code = f"U{uuid.uuid4().hex[:6]}"
        full_code = f"{parent.full_code}.{code}" if parent else code
        await self.send(
            UnitCreated(unit_id=unit_id, code=code, full_code=full_code, name=name, level=level, parent_id=parent.id if parent else None, path=path)
        )
        return Unit(unit_id, path, full_code)

    async def household(self, micro: Unit, address: str = "禹王村1组") -> str:
        """A household registered in a micro grid."""
        household_id = new_id()
        await self.send(HouseholdRegistered(household_id=household_id, unit_id=micro.id, unit_path=micro.path, address=address, head_name="王某"))
        return household_id

    async def person(self, name: str, household_id: str | None = None, unit: Unit | None = None) -> str:
        """A person of the registry."""
        person_id = new_id()
        await self.send(
            PersonJoined(person_id=person_id, name=name, household_id=household_id, unit_id=unit.id if unit else None, unit_path=unit.path if unit else None)
        )
        return person_id

    async def member(self, person_id: str, name: str, org_unit: Unit) -> str:
        """Make a person a party member of the branch mirroring `org_unit`."""
        member_id = new_id()
        await self.send(
            MemberJoined(
                member_id=member_id, person_id=person_id, name=name, party_org_id=new_id(), org_kind="branch",
                org_unit_id=org_unit.id, org_unit_path=org_unit.path, joined_on=date(2020, 7, 1),
            )
        )
        return member_id

    async def liaison(self, kind: str, person_id: str, name: str, unit: Unit, household_id: str | None = None) -> str:
        """Link a cadre (or member) to a grid or a household from 2026-01-01."""
        liaison_id = new_id()
        await self.send(
            LiaisonLinked(
                liaison_id=liaison_id, kind=kind, person_id=person_id, name=name, household_id=household_id,
                unit_id=unit.id, unit_path=unit.path, starts_on=date(2026, 1, 1),
            )
        )
        return liaison_id


@dataclass(frozen=True)
class Unit:
    """A unit produced by the feed."""

    id: str
    path: str
    full_code: str


@dataclass(frozen=True)
class Tree:
    """county → town → two villages; village A: grid → small grid → two micro grids; village B: one micro grid."""

    county: Unit
    town: Unit
    village_a: Unit
    grid_a: Unit
    small_a: Unit
    micro_a1: Unit
    micro_a2: Unit
    village_b: Unit
    micro_b: Unit


class EventTap:
    """Collects every event on `dispatch.events` from the beginning."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.consumer = AIOKafkaConsumer(
            DISPATCH_TOPIC, bootstrap_servers=bootstrap_servers, group_id=f"test-{uuid.uuid4().hex}",
            auto_offset_reset="earliest", session_timeout_ms=6000, fetch_max_wait_ms=20,
        )
        self.events: list[tuple[dict, DomainEvent]] = []
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Join and collect in the background."""
        await self.consumer.start()
        self._task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    envelope, event = decode(record.headers, record.key, record.value)
                    self.events.append(({"key": record.key, "headers": dict(record.headers), "envelope": envelope}, event))

    async def stop(self) -> None:
        """Stop collecting."""
        if self._task:
            self._task.cancel()
        await self.consumer.stop()

    def of(self, kind: type[DomainEvent], where: Callable[[DomainEvent], bool] = lambda _: True) -> list[DomainEvent]:
        """Events of one type seen so far that satisfy `where`."""
        return [e for _, e in self.events if isinstance(e, kind) and where(e)]

    async def wait_for(self, kind: type[DomainEvent], where: Callable[[DomainEvent], bool] = lambda _: True, count: int = 1) -> list[DomainEvent]:
        """Wait until `count` matching events arrived; return them."""

        async def probe():
            found = self.of(kind, where)
            return found if len(found) >= count else None

        return await eventually(probe)


class FreshHeaders(Mapping):
    """Identity headers signed anew on every use: the signed identity lives a minute, a test module longer."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    def __getitem__(self, key: str) -> str:
        return identity_headers(self.identity)[key]

    def __iter__(self) -> Iterator[str]:
        return iter(identity_headers(self.identity))

    def __len__(self) -> int:
        return 1


def staff(role: Role, unit: Unit | None, *, person_id: str | None = None, subject: str | None = None, rights: dict | None = None) -> FreshHeaders:
    """Identity headers for a caller of `role` scoped to `unit`."""
    return FreshHeaders(
        Identity(subject=subject or f"{role.value}-{uuid.uuid4().hex[:6]}", name=role.value, role=role,
                 scope_unit_id=unit.id if unit else None, person_id=person_id, rights=rights or {})
    )


ADMIN = FreshHeaders(PLATFORM_ADMIN)


async def known(client: httpx.AsyncClient, path: str) -> bool:
    """True once dispatch-svc answers 200 for a read-model path (events have arrived)."""
    return (await client.get(path, headers=ADMIN)).status_code == 200
