"""Idempotent consumers: each event's effect and its id are committed together, exactly once.

A consumer reads its topics in its own group, runs the handler for each event in a database
transaction that also records the event id (the inbox), and commits Kafka offsets only after
that. A redelivered event finds its id and has no second effect. A message of a type the
consumer handles that cannot be decoded, or whose handler keeps failing, goes to `<topic>.dlq`
with the error, and the partition moves on; a message naming another type is passed over unread.

Events that arrive together are applied together: up to `batch_size` of them, in partition
order, in one transaction with one inbox lookup and one inbox insert, so a busy consumer pays
the transaction's fixed cost once per batch instead of once per event. If anything in such a
batch fails, the batch is rolled back and its events are applied again one per transaction,
with the usual retries, so a poison event goes to the DLQ alone and its neighbours apply.
Inside a batch, a run of consecutive events for a `RunHandler` is handed to it in one call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from itertools import groupby

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError
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
# A decoded record this consumer has a handler for.
Delivery = tuple[ConsumerRecord, DomainEvent, Envelope, Handler]


class RunHandler:
    """A handler that also applies a run of consecutive events of its type in one call (`many`), with the effect
    of applying them one by one: one statement executed for many rows instead of one execution per event, where
    a busy consumer spends most of its time. Called as a plain handler for a single event."""

    def __init__(self, one: Handler, many: Callable[[AsyncSession, list[DomainEvent]], Awaitable[None]]) -> None:
        self.one = one
        self.many = many

    async def __call__(self, session: AsyncSession, event: DomainEvent, envelope: Envelope) -> None:
        await self.one(session, event, envelope)


async def apply_in_order(session: AsyncSession, deliveries: Sequence[tuple[DomainEvent, Envelope, Handler]], consumer: str) -> None:
    """Run each event's handler in order in `session`; a run of consecutive events for one `RunHandler` goes to
    it in one call."""
    for handler, run in groupby(deliveries, key=lambda delivery: delivery[2]):
        events = list(run)
        if isinstance(handler, RunHandler) and len(events) > 1:
            with _bound(consumer, events[0][1], run=len(events)):
                await handler.many(session, [event for event, _, _ in events])
            await session.flush()
            continue
        for event, envelope, _ in events:
            with _bound(consumer, envelope):
                await handler(session, event, envelope)
            # The next handler may read with plain SQL what this one added through the ORM.
            await session.flush()


def _bound(consumer: str, envelope: Envelope, **more: object):  # noqa: ANN202 - a context manager
    """Log lines inside name the consumer and the event."""
    return structlog.contextvars.bound_contextvars(consumer=consumer, event_id=envelope.id, event_type=envelope.type, **more)


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
        fetch_max_wait_ms: int = 20,
        retry_delay_s: float = 0.2,
        batch_size: int = 200,
        max_poll_records: int = 200,
    ) -> None:
        self.name = name  # also the consumer group: "<svc>.<purpose>"
        self.database = database
        self.inbox = inbox
        self.bus = bus
        self.bootstrap_servers = bootstrap_servers
        self.topics = topics
        self.handlers = dict(handlers)
        # The CloudEvents types handled here: a record naming another type is passed over without being decoded
        # (a grid consumer that keeps only units would otherwise parse every household and person event).
        self.event_types = {model.event_type for model in self.handlers}
        self.max_attempts = max_attempts
        self.session_timeout_ms = session_timeout_ms
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.retry_delay_s = retry_delay_s
        # Events per transaction, up to a whole poll: a steady flow arrives a few events per poll whatever the
        # bound, while a backlog (a registry import sends tens of thousands) is applied fastest in big batches,
        # which also give the RunHandlers long runs.
        self.batch_size = max(1, batch_size)
        self.max_poll_records = max_poll_records
        self._task: asyncio.Task | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self.processed = 0  # events whose effect was applied here
        self.duplicates = 0  # redeliveries absorbed by the inbox
        self.dead_lettered = 0
        self.assigned = asyncio.Event()
        # Events on its partitions not yet applied here, as of the broker's answers at `lag_seen_at` (epoch seconds,
        # the oldest partition's); None until every partition it holds has been fetched once.
        self.lag: int | None = None
        self.lag_seen_at: float | None = None

    def start(self) -> None:
        """Run the consume loop in the background (it connects, and reconnects, by itself)."""
        self._task = asyncio.create_task(self._run(), name=f"consumer:{self.name}")

    async def stop(self) -> None:
        """Stop consuming; time-boxed so a missing broker never hangs shutdown."""
        if self._task is not None:
            self._task.cancel()
            # asyncio.wait, not wait_for: it returns at the deadline even if the task is slow to honour its cancellation.
            await asyncio.wait({self._task}, timeout=10)
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
                    batches = await consumer.getmany(timeout_ms=1000, max_records=self.max_poll_records)
                    if consumer.assignment():
                        self.assigned.set()
                    await self._note_lag(consumer, {tp: records[0].offset for tp, records in batches.items()})
                    if not batches:
                        continue
                    await self._handle_records([record for records in batches.values() for record in records])
                    await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
                    await self._note_lag(consumer, {})
            except asyncio.CancelledError:
                await stop_within(consumer)
                raise
            except Exception as exc:
                self.lag = self.lag_seen_at = None
                log.warning("consumer.restart", consumer=self.name, error=repr(exc), backoff_s=backoff)
                await stop_within(consumer)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _note_lag(self, consumer: AIOKafkaConsumer, unapplied: Mapping[TopicPartition, int]) -> None:
        """Set `lag` from the partitions' ends the broker last told and the next offset to apply on each (the first
        of the records in hand, `unapplied`, else the consumer's position): what operators alert on, and how a
        maintenance step knows every event published so far has been applied."""
        self.lag = self.lag_seen_at = None
        behind, seen_at = 0, []
        try:
            for tp in consumer.assignment():
                end, at = consumer.highwater(tp), consumer.last_poll_timestamp(tp)
                if end is None or at is None:
                    return
                behind += end - (unapplied[tp] if tp in unapplied else await consumer.position(tp))
                seen_at.append(at)
        except (AssertionError, IllegalStateError):
            return  # the assignment changed meanwhile (a rebalance): unknown until the next poll
        if seen_at:
            self.lag, self.lag_seen_at = behind, min(seen_at) / 1000

    async def _handle_records(self, records: list[ConsumerRecord]) -> None:
        """Apply what one poll returned (partitions kept in order), in batches of `batch_size`."""
        deliveries: list[Delivery] = []
        for record in records:
            delivery = await self._decode(record)
            if delivery is not None:
                deliveries.append(delivery)
        for start in range(0, len(deliveries), self.batch_size):
            batch = deliveries[start : start + self.batch_size]
            if len(batch) > 1 and await self._apply_batch(batch):
                continue
            for record, event, envelope, handler in batch:
                with _bound(self.name, envelope):
                    await self._apply_with_retries(record, event, envelope, handler)

    async def _decode(self, record: ConsumerRecord) -> Delivery | None:
        """The record's event and handler; None when it is not ours or was dead-lettered as undecodable."""
        named = next((value for name, value in record.headers or () if name == "ce_type"), None)
        if named is not None and named.decode(errors="replace") not in self.event_types:
            return None  # another consumer's business, malformed or not: whoever handles the type dead-letters it
        try:
            envelope, event = decode(record.headers, record.key, record.value)
        except UnknownEventType:
            return None  # another consumer's business; nothing to do here
        except ValueError as exc:
            await self._dead_letter(record, f"undecodable: {exc}")
            return None
        handler = self.handlers.get(type(event))
        if handler is None:
            return None
        return record, event, envelope, handler

    async def _apply_batch(self, batch: list[Delivery]) -> bool:
        """Apply a batch in one transaction; False (nothing committed) if any part of it failed."""
        try:
            async with self.database.transaction() as session:
                seen = set(
                    (
                        await session.execute(
                            select(self.inbox.c.event_id).where(
                                self.inbox.c.consumer == self.name,
                                self.inbox.c.event_id.in_(list({envelope.id: None for _, _, envelope, _ in batch})),
                            )
                        )
                    ).scalars()
                )
                fresh = []
                for _, event, envelope, handler in batch:
                    if envelope.id in seen:
                        continue  # a redelivery, or a second copy within this batch
                    seen.add(envelope.id)
                    fresh.append((event, envelope, handler))
                await apply_in_order(session, fresh, self.name)
                applied: list[Envelope] = [envelope for _, envelope, _ in fresh]
                if applied:
                    now = datetime.now(UTC)
                    await session.execute(
                        self.inbox.insert(),
                        [{"event_id": e.id, "consumer": self.name, "event_type": e.type, "processed_at": now} for e in applied],
                    )
        except Exception as exc:  # whatever it was, the events are tried again one by one, with retries and the DLQ
            log.info("consumer.batch_retried_one_by_one", consumer=self.name, events=len(batch), error=repr(exc)[:300])
            return False
        self.processed += len(applied)
        self.duplicates += len(batch) - len(applied)
        return True

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


__all__ = ["EventConsumer", "Handler", "RunHandler", "apply_in_order", "inbox_table"]
