"""Idempotent consumers: each event's effect and its id are committed together, exactly once.

A consumer reads its topics in its own group, runs the handler for each event in a database
transaction that also records the event id (the inbox), and commits Kafka offsets only after
that. A redelivered event finds its id and has no second effect. A message that cannot be
decoded, or whose handler keeps failing, goes to `<topic>.dlq` with the error, and the
partition moves on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from cloudevents.core.bindings.kafka import KafkaMessage
from sqlalchemy import Column, DateTime, MetaData, String, Table, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.database import Database
from shared.events.base import DomainEvent
from shared.events.envelope import Envelope, UnknownEventType, decode
from shared.events.topics import dlq_topic
from shared.kafka import EventBus, stop_within
from shared.problems import is_transient_database_error

log = structlog.get_logger("shared.inbox")

Handler = Callable[[AsyncSession, DomainEvent, Envelope], Awaitable[None]]


def inbox_table(metadata: MetaData) -> Table:
    """The table of processed event ids in a service's metadata."""
    return Table(
        "inbox",
        metadata,
        Column("event_id", String(64), primary_key=True),
        Column("consumer", String(100), primary_key=True),
        Column("event_type", String(200), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )


class EventConsumer:
    """One consumer group reading `topics` and dispatching by event model to `handlers`."""

    def __init__(
        self,
        *,
        name: str,
        database: Database,
        inbox: Table,
        bus: EventBus,
        bootstrap_servers: str,
        topics: list[str],
        handlers: Mapping[type[DomainEvent], Handler],
        max_attempts: int = 3,
        session_timeout_ms: int = 10_000,
        fetch_max_wait_ms: int = 50,
        retry_delay_s: float = 0.2,
    ) -> None:
        self.name = name  # also the consumer group: "<svc>.<purpose>"
        self.database = database
        self.inbox = inbox
        self.bus = bus
        self.bootstrap_servers = bootstrap_servers
        self.topics = topics
        self.handlers = dict(handlers)
        self.max_attempts = max_attempts
        self.session_timeout_ms = session_timeout_ms
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.retry_delay_s = retry_delay_s
        self._task: asyncio.Task | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self.processed = 0  # events whose effect was applied here
        self.duplicates = 0  # redeliveries absorbed by the inbox
        self.dead_lettered = 0
        self.assigned = asyncio.Event()

    def start(self) -> None:
        """Run the consume loop in the background (it connects, and reconnects, by itself)."""
        self._task = asyncio.create_task(self._run(), name=f"consumer:{self.name}")

    async def stop(self) -> None:
        """Stop consuming; time-boxed so a missing broker never hangs shutdown."""
        if self._task is not None:
            self._task.cancel()
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except (asyncio.CancelledError, TimeoutError):
                pass
            self._task = None

    def _new_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.name,
            client_id=self.name,
            enable_auto_commit=False,  # auto-commit can spin on a failed commit; we commit after our own
            auto_offset_reset="earliest",
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=max(500, self.session_timeout_ms // 6),
            fetch_max_wait_ms=self.fetch_max_wait_ms,
            max_poll_interval_ms=300_000,
        )

    async def _run(self) -> None:
        # The watchdog: any broker-side failure rebuilds the consumer from its last commit.
        backoff = 0.5
        while True:
            consumer = self._new_consumer()
            self._consumer = consumer
            try:
                await asyncio.wait_for(consumer.start(), timeout=30)
                backoff = 0.5
                while True:
                    batches = await consumer.getmany(timeout_ms=1000, max_records=200)
                    if consumer.assignment():
                        self.assigned.set()
                    for tp, records in batches.items():
                        for record in records:
                            await self._handle_record(record)
                        await consumer.commit({tp: records[-1].offset + 1})
            except asyncio.CancelledError:
                await stop_within(consumer)
                raise
            except Exception as exc:
                log.warning("consumer.restart", consumer=self.name, error=repr(exc), backoff_s=backoff)
                await stop_within(consumer)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _handle_record(self, record: ConsumerRecord) -> None:
        try:
            envelope, event = decode(record.headers, record.key, record.value)
        except UnknownEventType:
            return  # another consumer's business; nothing to do here
        except ValueError as exc:
            await self._dead_letter(record, f"undecodable: {exc}")
            return
        handler = self.handlers.get(type(event))
        if handler is None:
            return
        with structlog.contextvars.bound_contextvars(consumer=self.name, event_id=envelope.id, event_type=envelope.type):
            await self._apply_with_retries(record, event, envelope, handler)

    async def _apply_with_retries(self, record: ConsumerRecord, event: DomainEvent, envelope: Envelope, handler: Handler) -> None:
        attempt = 0
        outage_delay = self.retry_delay_s
        while True:
            try:
                if await self.apply(event, envelope, handler):
                    self.processed += 1
                else:
                    self.duplicates += 1
                return
            except DBAPIError as exc:
                if not is_transient_database_error(exc):
                    attempt += 1
                    if await self._give_up(record, exc, attempt):
                        return
                    continue
                # The database is away, not the event at fault: wait for it (the partition waits too), never dead-letter.
                log.warning("consumer.database_unavailable", error=str(exc.orig)[:300], retry_in_s=outage_delay)
                await asyncio.sleep(outage_delay)
                outage_delay = min(outage_delay * 2, 5.0)
            except Exception as exc:
                attempt += 1
                if await self._give_up(record, exc, attempt):
                    return

    async def _give_up(self, record: ConsumerRecord, exc: Exception, attempt: int) -> bool:
        """After a failed attempt: dead-letter on the last one (True), else wait before the next (False)."""
        log.warning("consumer.handler_failed", attempt=attempt, error=repr(exc))
        if attempt >= self.max_attempts:
            await self._dead_letter(record, f"{type(exc).__name__}: {exc}")
            return True
        await asyncio.sleep(self.retry_delay_s * attempt)
        return False

    async def apply(self, event: DomainEvent, envelope: Envelope, handler: Handler) -> bool:
        """Run `handler` and record the event id in one transaction; False if already processed."""
        try:
            async with self.database.transaction() as session:
                seen = await session.scalar(
                    select(self.inbox.c.event_id).where(
                        self.inbox.c.event_id == envelope.id, self.inbox.c.consumer == self.name
                    )
                )
                if seen is not None:
                    return False
                await handler(session, event, envelope)
                await session.execute(
                    self.inbox.insert().values(
                        event_id=envelope.id,
                        consumer=self.name,
                        event_type=envelope.type,
                        processed_at=datetime.now(UTC),
                    )
                )
            return True
        except IntegrityError:
            # A concurrent delivery of the same event committed first: its effect stands.
            async with self.database.session() as session:
                if await session.scalar(
                    select(self.inbox.c.event_id).where(
                        self.inbox.c.event_id == envelope.id, self.inbox.c.consumer == self.name
                    )
                ):
                    return False
            raise

    async def _dead_letter(self, record: ConsumerRecord, error: str) -> None:
        headers = dict(record.headers or ())
        headers.update(
            {
                "dlq_error": error[:4000].encode(),
                "dlq_consumer": self.name.encode(),
                "dlq_topic": record.topic.encode(),
                "dlq_partition": str(record.partition).encode(),
                "dlq_offset": str(record.offset).encode(),
            }
        )
        message = KafkaMessage(headers=headers, key=record.key, value=record.value or b"")
        # Losing a poison message would hide the fault: keep trying until the DLQ has it.
        while True:
            (error_sent,) = await self.bus.publish_all([(dlq_topic(record.topic), message)])
            if error_sent is None:
                break
            log.warning("consumer.dlq_retry", consumer=self.name, error=repr(error_sent))
            await asyncio.sleep(1.0)
        self.dead_lettered += 1
        log.error("consumer.dead_lettered", consumer=self.name, topic=record.topic, offset=record.offset, error=error)


__all__ = ["EventConsumer", "Handler", "inbox_table"]
