"""Idempotent consumers, the dead-letter topic and replay after a fix, on real databases and broker."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from harness import Databases, eventually
from shared.database import Database
from shared.dlq import read_dead_letters, replay
from shared.events import GRID_TOPIC
from shared.events.envelope import encode
from shared.events.grid import UnitCreated, UnitRenamed
from shared.events.topics import all_topics, dlq_topic
from shared.inbox import EventConsumer
from shared.kafka import EventBus, ensure_topics
from shared.observability import Metrics
from shared.outbox import Relay
from shared.tables import platform_tables


class FlakyHandler:
    """Counts units per level in a table; fails for level 'grid' until fixed (a bug, then its fix)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.fixed = False

    async def __call__(self, session, event: UnitCreated, envelope) -> None:  # noqa: ANN001
        if event.level == "grid" and not self.fixed:
            raise RuntimeError("grid units are not supported yet")
        await session.execute(self.table.insert().values(unit_id=event.unit_id, level=event.level))


@pytest.fixture(scope="module")
async def consumer_setup(backend, broker, tmp_path_factory):
    databases = Databases(backend, tmp_path_factory.mktemp("inbox"))
    url = await databases.fresh("inbox")
    metadata = MetaData()
    tables = platform_tables(metadata)
    effects = Table("effects", metadata, Column("id", Integer, primary_key=True), Column("unit_id", String(40)), Column("level", String(20)))
    database = Database(url)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await ensure_topics(broker.bootstrap_servers, all_topics(), partitions=3)
    bus = EventBus(broker.bootstrap_servers)
    handler = FlakyHandler(effects)
    consumer = EventConsumer(
        name="test-svc.grid", database=database, inbox=tables.inbox, bus=bus, bootstrap_servers=broker.bootstrap_servers,
        topics=[GRID_TOPIC], handlers={UnitCreated: handler}, max_attempts=2, session_timeout_ms=6000, fetch_max_wait_ms=20,
        retry_delay_s=0.05,
    )
    consumer.start()
    yield database, effects, handler, consumer, bus
    await consumer.stop()
    await bus.close()
    await database.dispose()
    await databases.drop_all()


async def _send(
    bootstrap: str, events: list[UnitCreated], *, copies: int = 1, ids: list[str] | None = None, topic: str = GRID_TOPIC
) -> list[str]:
    """Publish events as a relay would (new ids unless `ids` are given: then it is a redelivery)."""
    ids = ids or [uuid.uuid4().hex for _ in events]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event, event_id in zip(events, ids, strict=True):
            message = encode(
                event_id=event_id, source="/grid-svc", event_type=event.event_type, subject=event.subject,
                time=datetime.now(UTC), data=event.model_dump(mode="json"),
            )
            for _ in range(copies):
                headers = list(message.headers.items())
                await producer.send_and_wait(topic, message.value, key=message.key.encode(), headers=headers)
    finally:
        await producer.stop()
    return ids


def _unit(level: str = "village") -> UnitCreated:
    unit_id = uuid.uuid4().hex[:26]
    return UnitCreated(unit_id=unit_id, code="X", full_code="X", name="村", level=level, parent_id=None, path=f"/{unit_id}/")


async def _effects_for(database: Database, effects: Table, unit_id: str) -> int:
    async with database.session() as session:
        return await session.scalar(select(func.count()).select_from(effects).where(effects.c.unit_id == unit_id))


async def test_the_same_event_delivered_three_times_has_one_effect(consumer_setup, broker):
    database, effects, _, consumer, _ = consumer_setup
    unit = _unit()
    duplicates_before = consumer.duplicates
    await _send(broker.bootstrap_servers, [unit], copies=3)
    await eventually(lambda: _at_least(consumer.duplicates, duplicates_before + 2))
    assert await _effects_for(database, effects, unit.unit_id) == 1


async def test_events_of_many_aggregates_in_any_order_each_have_one_effect(consumer_setup, broker):
    database, effects, _, _, _ = consumer_setup
    units = [_unit() for _ in range(40)]
    ids = await _send(broker.bootstrap_servers, list(reversed(units)))
    ids_by_unit = dict(zip(reversed([u.unit_id for u in units]), ids, strict=True))
    again = units[::3]  # some delivered again, in another order
    await _send(broker.bootstrap_servers, again, ids=[ids_by_unit[u.unit_id] for u in again])

    async def all_applied() -> bool:
        counts = [await _effects_for(database, effects, u.unit_id) for u in units]
        assert max(counts) <= 1, counts
        return min(counts) == 1

    await eventually(all_applied)


async def test_failing_event_goes_to_the_dlq_the_partition_moves_on_and_replay_after_a_fix_applies_it_once(consumer_setup, broker):
    database, effects, handler, consumer, bus = consumer_setup
    broken, healthy = _unit("grid"), _unit("village")
    (broken_id,) = await _send(broker.bootstrap_servers, [broken])
    await _send(broker.bootstrap_servers, [healthy])
    await eventually(lambda: _effects_for(database, effects, healthy.unit_id))

    async def dead_lettered():
        letters = await read_dead_letters(broker.bootstrap_servers, GRID_TOPIC)
        return [d for d in letters if d.event_id == broken_id]

    (letter,) = await eventually(dead_lettered)
    assert letter.consumer == "test-svc.grid"
    assert "grid units are not supported yet" in letter.error
    assert await _effects_for(database, effects, broken.unit_id) == 0

    handler.fixed = True
    assert await replay(bus, GRID_TOPIC, [letter]) == 1
    await eventually(lambda: _effects_for(database, effects, broken.unit_id))
    assert await replay(bus, GRID_TOPIC, [letter]) == 1  # replaying twice changes nothing
    before = consumer.duplicates
    await eventually(lambda: _at_least(consumer.duplicates, before + 1))
    assert await _effects_for(database, effects, broken.unit_id) == 1


async def test_a_type_without_a_handler_here_is_passed_over_unread_and_a_malformed_one_of_ours_is_dead_lettered(
    consumer_setup, broker
):
    database, effects, _, consumer, _ = consumer_setup
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    await producer.start()
    ours, theirs = uuid.uuid4().hex, uuid.uuid4().hex
    try:
        for event_id, event_type in ((theirs, UnitRenamed.event_type), (ours, UnitCreated.event_type)):
            headers = [("ce_specversion", b"1.0"), ("ce_id", event_id.encode()), ("ce_source", b"/grid-svc"),
                       ("ce_type", event_type.encode()), ("content-type", b"application/json")]  # fmt: skip
            await producer.send_and_wait(GRID_TOPIC, b"{not json", key=b"x", headers=headers)
    finally:
        await producer.stop()
    healthy = _unit()
    await _send(broker.bootstrap_servers, [healthy])
    await eventually(lambda: _effects_for(database, effects, healthy.unit_id))

    async def dead_lettered():
        letters = await read_dead_letters(broker.bootstrap_servers, GRID_TOPIC)
        return [d for d in letters if d.event_id in (ours, theirs)]

    (letter,) = await eventually(dead_lettered)
    assert letter.event_id == ours
    assert "undecodable" in letter.error


async def _at_least(value: int, minimum: int) -> bool:
    return value >= minimum


async def test_a_backlog_is_applied_in_batches_and_a_poison_event_among_them_goes_to_the_dlq_alone(consumer_setup, broker):
    database, effects, _, _, bus = consumer_setup
    # A topic and group of this test's own: the whole backlog waits before the consumer starts, so its
    # first polls return many events at once and they are applied in batches.
    topic = f"test.backlog.{uuid.uuid4().hex[:8]}"
    await ensure_topics(broker.bootstrap_servers, [topic, dlq_topic(topic)], partitions=3)
    healthy, poison = [_unit() for _ in range(30)], _unit("grid")
    ids = await _send(broker.bootstrap_servers, [*healthy[:15], poison, *healthy[15:]], topic=topic)
    await _send(broker.bootstrap_servers, healthy[:5], ids=ids[:5], topic=topic)  # second copies in the same backlog
    consumer = EventConsumer(
        name=f"test-svc.backlog-{topic[-8:]}", database=database, inbox=platform_tables(MetaData()).inbox, bus=bus,
        bootstrap_servers=broker.bootstrap_servers, topics=[topic], handlers={UnitCreated: FlakyHandler(effects)}, max_attempts=2,
        session_timeout_ms=6000, fetch_max_wait_ms=20, retry_delay_s=0.05, batch_size=8,
    )
    consumer.start()
    try:
        async def all_handled() -> bool:
            return consumer.processed + consumer.duplicates + consumer.dead_lettered >= 36

        await eventually(all_handled)
        letters = await eventually(lambda: read_dead_letters(broker.bootstrap_servers, topic))
        assert [letter.event_id for letter in letters] == [ids[15]]  # the poison event alone
        assert (consumer.processed, consumer.duplicates, consumer.dead_lettered) == (30, 5, 1)
        assert [await _effects_for(database, effects, u.unit_id) for u in healthy] == [1] * 30
        assert await _effects_for(database, effects, poison.unit_id) == 0
    finally:
        await consumer.stop()


async def test_a_consumers_lag_counts_the_events_fetched_and_not_yet_applied_and_is_zero_once_they_are(consumer_setup, broker):
    database, effects, _, _, bus = consumer_setup
    # A one-partition topic of this test's own, its backlog published before the consumer starts: the first poll
    # brings all five, and the handler holds the first until released.
    topic = f"test.lag.{uuid.uuid4().hex[:8]}"
    await ensure_topics(broker.bootstrap_servers, [topic, dlq_topic(topic)], partitions=1)
    await _send(broker.bootstrap_servers, [_unit() for _ in range(5)], topic=topic)
    release = asyncio.Event()
    inner = FlakyHandler(effects)

    async def held(session, event, envelope):  # noqa: ANN001, ANN202
        await release.wait()
        await inner(session, event, envelope)

    consumer = EventConsumer(
        name=f"test-svc.lag-{topic[-8:]}", database=database, inbox=platform_tables(MetaData()).inbox, bus=bus,
        bootstrap_servers=broker.bootstrap_servers, topics=[topic], handlers={UnitCreated: held}, session_timeout_ms=6000,
        fetch_max_wait_ms=20,
    )
    metrics = Metrics("test-svc")
    metrics.watch_events(Relay(database=database, table=platform_tables(MetaData()).outbox, bus=bus, source="/test"), [consumer])

    def exposed() -> dict[str, float]:
        families = text_string_to_metric_families(metrics.render().decode())
        return {s.name: s.value for f in families for s in f.samples if s.name.startswith("consumer_lag")}

    assert exposed() == {}  # not known before the consumer has heard from the broker
    async def lag_is(events: int) -> bool:
        return consumer.lag == events

    started = time.time()
    consumer.start()
    try:
        await eventually(lambda: lag_is(5))
        assert consumer.processed == 0 and consumer.lag_seen_at >= started
        assert exposed()["consumer_lag"] == 5
        release.set()
        await eventually(lambda: lag_is(0))
        assert consumer.processed == 5
        assert exposed() == {"consumer_lag": 0, "consumer_lag_seen_timestamp_seconds": consumer.lag_seen_at}
    finally:
        release.set()
        await consumer.stop()
