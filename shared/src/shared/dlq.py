"""Dead-letter topics: list what landed there and replay it after a fix.

A replayed message goes back to its original topic with its original CloudEvents headers, so
every consumer group sees it again; consumers that already applied it skip it (their inbox has
its id), the ones that failed apply it now.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from cloudevents.core.bindings.kafka import KafkaMessage

from shared.events.topics import dlq_topic
from shared.kafka import EventBus, stop_within

_DLQ_HEADERS = ("dlq_error", "dlq_consumer", "dlq_topic", "dlq_partition", "dlq_offset")


@dataclass(frozen=True)
class DeadLetter:
    """One message in a dead-letter topic."""

    partition: int
    offset: int
    event_id: str | None
    event_type: str | None
    consumer: str
    error: str
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]


async def read_dead_letters(bootstrap_servers: str, topic: str, *, limit: int = 1000) -> list[DeadLetter]:
    """Everything in `<topic>.dlq` from the beginning (up to `limit`), without joining a group."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False, client_id=f"dlq-reader-{uuid.uuid4().hex[:8]}"
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(dlq_topic(topic)) or set()
        assigned = [TopicPartition(dlq_topic(topic), p) for p in sorted(partitions)]
        if not assigned:
            return []
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        letters: list[DeadLetter] = []
        while len(letters) < limit and await _behind(consumer, assigned, ends):
            for records in (await consumer.getmany(timeout_ms=1000, max_records=500)).values():
                for record in records:
                    headers = {k: v for k, v in record.headers}
                    letters.append(
                        DeadLetter(
                            partition=record.partition,
                            offset=record.offset,
                            event_id=_text(headers.get("ce_id")),
                            event_type=_text(headers.get("ce_type")),
                            consumer=_text(headers.get("dlq_consumer")) or "",
                            error=_text(headers.get("dlq_error")) or "",
                            key=record.key,
                            value=record.value or b"",
                            headers=headers,
                        )
                    )
        return sorted(letters, key=lambda d: (d.partition, d.offset))[:limit]
    finally:
        await stop_within(consumer)


async def replay(bus: EventBus, topic: str, letters: list[DeadLetter]) -> int:
    """Send dead letters back to `topic` with their original headers; return how many were sent."""
    messages = [
        (topic, KafkaMessage(headers={k: v for k, v in d.headers.items() if k not in _DLQ_HEADERS}, key=d.key, value=d.value))
        for d in letters
    ]
    errors = await bus.publish_all(messages)
    failed = [e for e in errors if e is not None]
    if failed:
        raise failed[0]
    return len(messages)


async def _behind(consumer: AIOKafkaConsumer, assigned: list[TopicPartition], ends: dict) -> bool:
    for tp in assigned:
        if await consumer.position(tp) < ends[tp]:
            return True
    return False


def _text(value: bytes | None) -> str | None:
    return value.decode("utf-8", "replace") if value is not None else None
