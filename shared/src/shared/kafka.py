"""The Kafka producer side: one producer per process, rebuilt after fatal errors, and topic setup."""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from cloudevents.core.bindings.kafka import KafkaMessage

log = structlog.get_logger("shared.kafka")


async def stop_within(client, seconds: float = 5.0) -> None:  # noqa: ANN001 - any aiokafka client
    """Stop an aiokafka client, giving up after `seconds` (stop() can hang with no broker).

    asyncio.wait, not wait_for: wait_for waits for the cancelled stop() to finish, which is no bound at all
    when the client shields its shutdown."""
    stopping = asyncio.ensure_future(client.stop() if hasattr(client, "stop") else client.close())
    done, _ = await asyncio.wait({stopping}, timeout=seconds)
    error = stopping.exception() if done and not stopping.cancelled() else None
    if not done or error is not None:  # shutdown must go on whatever the broker does
        log.warning("kafka.stop_timeout", client=type(client).__name__, error=repr(error) if error else "timed out")


class EventBus:
    """Publishes Kafka messages with acks=all; a failed producer is replaced by a new one."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        enable_idempotence: bool = False,
        request_timeout_s: float = 10.0,
        max_message_bytes: int = 1_000_000,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.enable_idempotence = enable_idempotence
        self.request_timeout_s = request_timeout_s
        self.max_message_bytes = max_message_bytes
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _ensure_producer(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap_servers,
                    acks="all",
                    enable_idempotence=self.enable_idempotence,
                    max_request_size=self.max_message_bytes + 64_000,
                    request_timeout_ms=int(self.request_timeout_s * 1000),
                    linger_ms=2,
                )
                try:
                    await asyncio.wait_for(producer.start(), timeout=self.request_timeout_s)
                except BaseException:
                    await stop_within(producer)
                    raise
                self._producer = producer
            return self._producer

    async def publish_all(self, messages: list[tuple[str, KafkaMessage]]) -> list[Exception | None]:
        """Send messages in order and wait for every ack; one error (or None) per message.

        After any failure the producer is discarded: only a new producer recovers from
        fatal states such as an unknown producer id.
        """
        try:
            producer = await self._ensure_producer()
        except Exception as exc:
            return [exc] * len(messages)
        in_flight: list[asyncio.Future | Exception] = []
        for topic, message in messages:
            key = message.key.encode() if isinstance(message.key, str) else message.key
            try:
                in_flight.append(await producer.send(topic, message.value, key=key, headers=list(message.headers.items())))
            except Exception as exc:
                in_flight.append(exc)
        results: list[Exception | None] = []
        for item in in_flight:
            if isinstance(item, Exception):
                results.append(item)
                continue
            try:
                await asyncio.wait_for(item, timeout=self.request_timeout_s)
                results.append(None)
            except Exception as exc:
                results.append(exc)
        if any(results):
            await self.reset()
        return results

    async def reset(self) -> None:
        """Drop the current producer; the next publish builds a new one."""
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            await stop_within(producer)

    async def ready(self) -> bool:
        """True when a producer is connected (for /readyz)."""
        try:
            producer = await self._ensure_producer()
            await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout=2.0)
            return True
        except Exception:
            await self.reset()
            return False

    async def close(self) -> None:
        """Stop the producer, time-boxed."""
        await self.reset()


async def ensure_topics(bootstrap_servers: str, topics: list[str], *, partitions: int, replication_factor: int = 1) -> None:
    """Create topics explicitly with a fixed partition count (auto-created ones would differ)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000)
    await asyncio.wait_for(admin.start(), timeout=15)
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, partitions, replication_factor) for t in topics if t not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another process created it first
    finally:
        await stop_within(admin)
