"""Transactional outbox: events are rows committed with the state change, then relayed to Kafka.

Domain code calls `emit(session, event)`; `Database.transaction()` writes the pending events
into the outbox table inside the same transaction and wakes the relay after commit. The relay
claims rows (several replicas never send the same row at once), publishes them with acks=all
and marks them sent. A broker outage only delays rows: they wait and are retried with backoff.
"""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    DateTime,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    and_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.base import DomainEvent
from shared.events.envelope import encode
from shared.ids import new_id
from shared.kafka import EventBus
from shared.local_time import as_utc
from shared.problems import Problem

log = structlog.get_logger("shared.outbox")

PENDING_EVENTS = "pending_events"


class EventTooLarge(Problem):
    """An event whose body exceeds the configured limit (the broker would reject it): 413, nothing written."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, "payload_too_large", detail)


def outbox_table(metadata: MetaData) -> Table:
    """The outbox table in a service's metadata."""
    return Table(
        "outbox",
        metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(32), nullable=False, unique=True),
        Column("topic", String(100), nullable=False),
        Column("key", String(100), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True)),
        Column("claimed_by", String(100)),
        Column("claimed_until", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text),
        # Only the unsent rows, in claim order: a claim reads the head of this index and stops after one batch,
        # however many rows wait or were sent before (on (sent_at, seq) it sorted every unsent row each time).
        Index("ix_outbox_unsent", "seq", postgresql_where=text("sent_at IS NULL"), sqlite_where=text("sent_at IS NULL")),
    )


def _claimable(table: Table, now: datetime) -> ColumnElement[bool]:
    """Unsent, and not under a claim that is still running."""
    return and_(table.c.sent_at.is_(None), or_(table.c.claimed_until.is_(None), table.c.claimed_until < now))


def oldest_claimable(table: Table, now: datetime, limit: int) -> Select:
    """The `seq` of the oldest `limit` claimable rows, locked for this transaction; rows another replica is
    claiming right now are skipped, not waited for."""
    return select(table.c.seq).where(_claimable(table, now)).order_by(table.c.seq).limit(limit).with_for_update(skip_locked=True)


def emit(session: AsyncSession, event: DomainEvent) -> None:
    """Queue `event` to be written to the outbox when the session's transaction commits."""
    session.info.setdefault(PENDING_EVENTS, []).append(event)


class OutboxWriter:
    """Writes a transaction's pending events as outbox rows."""

    def __init__(self, table: Table, *, source: str, max_bytes: int) -> None:
        self.table = table
        self.source = source
        self.max_bytes = max_bytes

    async def write(self, session: AsyncSession) -> bool:
        """Insert the session's pending events; True when any were written."""
        events: list[DomainEvent] = session.info.pop(PENDING_EVENTS, [])
        if not events:
            return False
        now = datetime.now(UTC)
        rows = []
        for event in events:
            payload = json.dumps(event.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))
            if len(payload.encode()) > self.max_bytes:
                raise EventTooLarge(f"{event.event_type} is {len(payload.encode())} bytes (limit {self.max_bytes})")
            rows.append(
                {
                    "event_id": new_id(),
                    "topic": type(event).topic,
                    "key": event.subject,
                    "event_type": event.event_type,
                    "payload": payload,
                    "created_at": now,
                    "attempts": 0,
                }
            )
        await session.execute(self.table.insert(), rows)
        return True


class Relay:
    """Publishes outbox rows to Kafka; woken on commit, retrying with backoff while the broker is away."""

    def __init__(
        self,
        *,
        database,  # noqa: ANN001 - shared.database.Database (import cycle)
        table: Table,
        bus: EventBus,
        source: str,
        batch_size: int = 200,
        claim_seconds: float = 30.0,
        idle_poll_seconds: float = 5.0,
        max_backoff_seconds: float = 10.0,
    ) -> None:
        self.database = database
        self.table = table
        self.bus = bus
        self.source = source
        self.batch_size = batch_size
        self.claim_seconds = claim_seconds
        # A safety net only: commits in this process wake the relay at once; the poll picks up
        # rows released by another replica or left by a crash.
        self.idle_poll_seconds = idle_poll_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.relay_id = f"{socket.gethostname()}:{new_id()}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.published = 0
        database.on_outbox_commit(self.wake)

    def wake(self) -> None:
        """Ask the relay to look for new rows now."""
        self._wake.set()

    def start(self) -> None:
        """Run the relay loop in the background."""
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Stop the loop, time-boxed like the consumers' stop so shutdown never hangs on a broker or database
        call; claimed but unsent rows are released by their claim expiry."""
        if self._task is not None:
            self._task.cancel()
            # asyncio.wait, not wait_for: it returns at the deadline even if the task ignores its cancellation.
            await asyncio.wait({self._task}, timeout=10)
            self._task = None

    async def _run(self) -> None:
        backoff = 0.0
        while True:
            try:
                sent = await self.publish_batch()
                backoff = 0.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or database away: rows wait, we retry
                backoff = min(self.max_backoff_seconds, max(0.2, backoff * 2))
                log.warning("relay.retry", error=repr(exc), backoff_s=backoff)
                await asyncio.sleep(backoff)
                continue
            if sent >= self.batch_size:
                continue  # a full batch: more are likely waiting
            # Fewer than a full batch means none were left when we claimed; a commit since then has set the wake.
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.idle_poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def publish_batch(self) -> int:
        """Claim, publish and mark one batch; return how many rows were sent."""
        rows = await self._claim()
        if not rows:
            return 0
        messages = [
            (
                row.topic,
                encode(
                    event_id=row.event_id,
                    source=self.source,
                    event_type=row.event_type,
                    subject=row.key,
                    time=as_utc(row.created_at),
                    data=json.loads(row.payload),
                ),
            )
            for row in rows
        ]
        errors = await self.bus.publish_all(messages)
        sent = [row.seq for row, error in zip(rows, errors, strict=True) if error is None]
        failed = [(row.seq, error) for row, error in zip(rows, errors, strict=True) if error is not None]
        if sent:
            await self._mark_sent(sent)
            self.published += len(sent)
        if failed:
            await self._release([seq for seq, _ in failed], repr(failed[0][1]))
            raise failed[0][1]
        return len(sent)

    async def _claim(self):  # noqa: ANN202 - rows
        """Claim the oldest claimable rows and return them in `seq` order.

        Two statements in one transaction, not `UPDATE … WHERE seq IN (SELECT … FOR UPDATE SKIP LOCKED)`:
        PostgreSQL may plan that subquery as the inner side of a nested loop and run the locking scan again for
        every unsent row (planned while the outbox was empty, one claim ran for half an hour on 265,000 rows).
        """
        t = self.table
        now = datetime.now(UTC)
        until = now + timedelta(seconds=self.claim_seconds)
        async with self.database.transaction() as session:
            seqs = (await session.execute(oldest_claimable(t, now, self.batch_size))).scalars().all()
            if not seqs:
                return []
            claim = (
                update(t)
                # Claimable still, for SQLite: it locks nothing on read, so another relay may have claimed these since.
                .where(t.c.seq.in_(seqs), _claimable(t, now))
                .values(claimed_by=self.relay_id, claimed_until=until, attempts=t.c.attempts + 1)
                .returning(t.c.seq, t.c.event_id, t.c.topic, t.c.key, t.c.event_type, t.c.payload, t.c.created_at)
            )
            rows = (await session.execute(claim)).all()
        return sorted(rows, key=lambda row: row.seq)

    async def _mark_sent(self, seqs: list[int]) -> None:
        t = self.table
        async with self.database.transaction() as session:
            await session.execute(
                update(t).where(t.c.seq.in_(seqs)).values(sent_at=datetime.now(UTC), claimed_by=None, claimed_until=None, last_error=None)
            )

    async def _release(self, seqs: list[int], error: str) -> None:
        if not seqs:
            return
        t = self.table
        async with self.database.transaction() as session:
            await session.execute(
                update(t).where(t.c.seq.in_(seqs)).values(claimed_by=None, claimed_until=None, last_error=error[:2000])
            )
