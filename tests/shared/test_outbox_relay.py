"""The outbox relay against real databases and the real broker."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import MetaData, func, select

from harness import Databases, advance_end_offsets, eventually
from shared.database import Database
from shared.events import GRID_TOPIC
from shared.events.grid import UnitCreated
from shared.kafka import EventBus, ensure_topics
from shared.outbox import EventTooLarge, OutboxWriter, Relay, emit, oldest_claimable
from shared.tables import platform_tables


@pytest.fixture(scope="module")
async def outbox_db(backend, broker, tmp_path_factory):
    """A fresh database holding only the platform tables, and the topics on the module's broker."""
    databases = Databases(backend, tmp_path_factory.mktemp("outbox"))
    url = await databases.fresh("outbox")
    metadata = MetaData()
    tables = platform_tables(metadata)
    setup = Database(url)
    async with setup.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await setup.dispose()
    await ensure_topics(broker.bootstrap_servers, [GRID_TOPIC], partitions=3)
    yield url, tables
    await databases.drop_all()


def _event(i: int, size: int = 0) -> UnitCreated:
    unit_id = uuid.uuid4().hex[:26]
    return UnitCreated(
        unit_id=unit_id, code=f"U{i}", full_code=f"U{i}", name="村" * max(1, size), level="village", parent_id=None, path=f"/{unit_id}/"
    )


async def _published_ids(bootstrap: str, expected: set[str]) -> list[str]:
    """Every published ce_id among `expected`, as often as it was published."""
    consumer = AIOKafkaConsumer(
        GRID_TOPIC, bootstrap_servers=bootstrap, group_id=f"test-{uuid.uuid4().hex}", auto_offset_reset="earliest",
        session_timeout_ms=6000, fetch_max_wait_ms=20,
    )
    await consumer.start()
    ids: list[str] = []
    try:
        async def collect() -> bool:
            for records in (await consumer.getmany(timeout_ms=500, max_records=1000)).values():
                ids.extend(dict(r.headers)["ce_id"].decode() for r in records)
            return expected <= set(ids)

        await eventually(collect)
        await asyncio.sleep(0.5)  # anything sent twice would arrive with the rest
        for records in (await consumer.getmany(timeout_ms=500, max_records=1000)).values():
            ids.extend(dict(r.headers)["ce_id"].decode() for r in records)
    finally:
        await consumer.stop()
    return ids


async def test_two_relay_replicas_never_send_a_row_twice(outbox_db, broker):
    url, tables = outbox_db
    writer_db = Database(url, outbox=OutboxWriter(tables.outbox, source="/test", max_bytes=100_000))
    for batch in range(10):
        async with writer_db.transaction() as session:
            for i in range(30):
                emit(session, _event(batch * 30 + i))
    await writer_db.dispose()

    # Two replicas, each with its own engine as separate processes would have, claiming concurrently
    # round after round until the outbox is drained.
    replicas = []
    for _ in range(2):
        database = Database(url)
        bus = EventBus(broker.bootstrap_servers)
        replicas.append((database, bus, Relay(database=database, table=tables.outbox, bus=bus, source="/test", batch_size=25)))
    try:
        while sum(await asyncio.gather(*(relay.publish_batch() for _, _, relay in replicas))):
            pass
    finally:
        for database, bus, _ in replicas:
            await bus.close()
            await database.dispose()

    await advance_end_offsets(broker.bootstrap_servers, GRID_TOPIC)  # the replicas wrote to the same partitions at once

    # Which replica takes how many is up to scheduling (a replica whose producer is slow to start may take none);
    # what must hold is that together they sent every row once.
    assert replicas[0][2].published + replicas[1][2].published == 300
    reader = Database(url)
    async with reader.session() as session:
        written = set((await session.execute(select(tables.outbox.c.event_id))).scalars())
    await reader.dispose()
    ids = [i for i in await _published_ids(broker.bootstrap_servers, written) if i in written]
    assert len(written) == 300
    assert sorted(ids) == sorted(written)  # each row published exactly once


async def test_an_event_too_large_for_the_broker_is_refused_and_nothing_is_written(outbox_db):
    url, tables = outbox_db
    database = Database(url, outbox=OutboxWriter(tables.outbox, source="/test", max_bytes=1_000))
    try:
        async with database.session() as session:
            before = await session.scalar(select(func.count()).select_from(tables.outbox))
        with pytest.raises(EventTooLarge):
            async with database.transaction() as session:
                emit(session, _event(1))
                emit(session, _event(2, size=2_000))
        async with database.session() as session:
            assert await session.scalar(select(func.count()).select_from(tables.outbox)) == before
    finally:
        await database.dispose()


async def test_a_claim_reads_the_unsent_rows_in_order_from_their_index_without_sorting(outbox_db):
    """Planned without its parameters' values (PostgreSQL's generic plan, as for a statement a relay has run
    often), the claim still walks the unsent rows' index in `seq` order and stops after a batch: it never
    sorts every unsent row, however many wait."""
    url, tables = outbox_db
    database = Database(url)
    now = datetime.now(UTC)
    rows = [
        dict(event_id=f"plan{i:05d}", topic=GRID_TOPIC, key="k", event_type="t", payload="{}", created_at=now, attempts=0,
             sent_at=now if i % 3 else None)
        for i in range(3_000)
    ]
    compiled = oldest_claimable(tables.outbox, now, 25).compile(database.engine.sync_engine)
    values = tuple(compiled.params[name] for name in compiled.positiontup)
    try:
        async with database.transaction() as session:
            await session.execute(tables.outbox.insert(), rows)
        async with database.engine.connect() as connection:
            await connection.exec_driver_sql("ANALYZE outbox")
            if database.is_sqlite:
                plan = [row[-1] for row in await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", values)]
            else:
                await connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
                await connection.exec_driver_sql(f"PREPARE claim AS {compiled}")
                arguments = ", ".join(f"'{v.isoformat()}'" if isinstance(v, datetime) else str(int(v)) for v in values)
                plan = [row[0] for row in await connection.exec_driver_sql(f"EXPLAIN EXECUTE claim({arguments})")]
            await connection.rollback()
        assert any("ix_outbox_unsent" in line for line in plan), plan
        assert not any("Sort" in line or "TEMP B-TREE" in line for line in plan), plan
    finally:
        async with database.transaction() as session:
            await session.execute(tables.outbox.delete().where(tables.outbox.c.event_id.like("plan%")))
        await database.dispose()
