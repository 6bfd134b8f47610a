"""A service prunes sent events from its outbox, applied events' ids from its inbox and idempotency keys once past
their keep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, select

from harness import database_with
from shared.ids import first_id_at, new_id
from shared.retention import Retention
from shared.settings import ServiceSettings
from shared.tables import PlatformTables, platform_tables

NOW = datetime.now(UTC)


def _id_at(moment: datetime, n: int) -> str:
    """An event id written at `moment` plus `n` milliseconds (distinct for each n)."""
    return first_id_at(moment + timedelta(milliseconds=n))


@pytest.fixture
async def platform(backend: str, tmp_path) -> tuple:
    metadata = MetaData()
    tables = platform_tables(metadata)
    async with database_with(metadata, backend, tmp_path, "retention") as db:
        yield db, tables


async def _outbox_row(db, tables: PlatformTables, event_id: str, *, sent: bool) -> None:
    async with db.transaction() as session:
        await session.execute(
            tables.outbox.insert().values(
                event_id=event_id, topic="grid.events", key="k", event_type="UnitCreated", payload="{}", created_at=NOW,
                sent_at=NOW if sent else None, attempts=1 if sent else 0,
            )
        )


async def _inbox_row(db, tables: PlatformTables, event_id: str, consumer: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            tables.inbox.insert().values(event_id=event_id, consumer=consumer, event_type="UnitCreated", processed_at=NOW)
        )


async def _idempotency_row(db, tables: PlatformTables, key: str, made: datetime) -> None:
    async with db.transaction() as session:
        await session.execute(
            tables.idempotency.insert().values(
                caller="county-system", key=key, fingerprint="f" * 64, status_code=201, body="{}", created_at=made
            )
        )


async def _ids(db, column) -> set[str]:
    async with db.session() as session:
        return set((await session.execute(select(column))).scalars())


async def test_sent_events_and_applied_ids_past_their_keep_are_deleted_and_nothing_else(platform) -> None:
    db, tables = platform
    old, recent = NOW - timedelta(hours=30), NOW - timedelta(hours=1)
    for n in range(7):
        await _outbox_row(db, tables, _id_at(old, n), sent=True)
    stuck = _id_at(old, 100)
    await _outbox_row(db, tables, stuck, sent=False)  # never sent: kept however old
    kept_sent = {_id_at(recent, n) for n in range(2)}
    for event_id in kept_sent:
        await _outbox_row(db, tables, event_id, sent=True)
    for n in range(4):
        for consumer in ("points-svc.grid", "legal-svc.grid"):
            await _inbox_row(db, tables, _id_at(NOW - timedelta(days=9), n), consumer)
    kept_applied = {_id_at(NOW - timedelta(days=1), n) for n in range(2)}
    for event_id in kept_applied:
        await _inbox_row(db, tables, event_id, "points-svc.grid")

    # Batches of 3: the 7 old sent rows take three, the 8 old inbox rows (4 events, 2 consumers) two.
    for n in range(4):
        await _idempotency_row(db, tables, f"old-{n}", NOW - timedelta(days=8, minutes=n))
    await _idempotency_row(db, tables, "tied", NOW - timedelta(days=8, minutes=1))  # made at the same moment as old-1
    await _idempotency_row(db, tables, "recent", NOW - timedelta(days=6))

    # Batches of 3: the 7 old sent rows take three, the 8 old inbox rows (4 events, 2 consumers) two, the 5 old keys
    # two (the first batch's last key and the one made with it go together).
    retention = Retention(
        db, tables, outbox_keep=timedelta(hours=24), inbox_keep=timedelta(days=8), idempotency_keep=timedelta(days=7),
        batch=3,
    )
    assert await retention.prune(NOW) == {"outbox": 7, "inbox": 8, "idempotency": 5}
    assert await _ids(db, tables.outbox.c.event_id) == kept_sent | {stuck}
    assert await _ids(db, tables.inbox.c.event_id) == kept_applied
    assert await _ids(db, tables.idempotency.c.key) == {"recent"}
    assert await retention.prune(NOW) == {"outbox": 0, "inbox": 0, "idempotency": 0}


async def test_a_keep_of_none_keeps_every_row(platform) -> None:
    db, tables = platform
    event_id = _id_at(NOW - timedelta(days=400), 0)
    await _outbox_row(db, tables, event_id, sent=True)
    await _inbox_row(db, tables, event_id, "points-svc.grid")
    await _idempotency_row(db, tables, "ancient", NOW - timedelta(days=400))
    retention = Retention(db, tables, outbox_keep=None, inbox_keep=None, idempotency_keep=None)
    assert await retention.prune(NOW) == {}
    assert await _ids(db, tables.outbox.c.event_id) == {event_id}
    assert await _ids(db, tables.inbox.c.event_id) == {event_id}
    assert await _ids(db, tables.idempotency.c.key) == {"ancient"}


def test_ids_made_before_a_moment_sort_below_its_first_id() -> None:
    before = new_id()
    floor = first_id_at(datetime.now(UTC) + timedelta(milliseconds=2))
    assert before < floor < _id_at(NOW + timedelta(days=1), 0)


def test_the_keeps_default_to_a_day_eight_days_and_a_week_and_zero_keeps_for_ever() -> None:
    defaults = ServiceSettings()
    assert (defaults.outbox_keep, defaults.inbox_keep, defaults.idempotency_keep) == (
        timedelta(hours=24), timedelta(days=8), timedelta(days=7)
    )
    never = ServiceSettings(outbox_keep_hours=0, inbox_keep_days=0, idempotency_keep_hours=0)
    assert (never.outbox_keep, never.inbox_keep, never.idempotency_keep) == (None, None, None)
