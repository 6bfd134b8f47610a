"""Reads grid.events from the real broker so tests can see what consumers will see."""

from __future__ import annotations

import asyncio
import json

from aiokafka import AIOKafkaConsumer, TopicPartition

from harness import eventually
from shared.events import GRID_TOPIC


class EventLog:
    """Every record on grid.events since it started, as (ce_type, key, body)."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=20)
        self.records: list[tuple[str, str, dict]] = []
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Assign every partition of the topic (no group join) and read from the beginning."""
        await self.consumer.start()

        async def partitions():
            await self.consumer.topics()  # refreshes metadata
            return self.consumer.partitions_for_topic(GRID_TOPIC)

        found = await eventually(partitions)
        self.consumer.assign([TopicPartition(GRID_TOPIC, p) for p in found])
        await self.consumer.seek_to_beginning()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    headers = dict(record.headers)
                    self.records.append((headers["ce_type"].decode(), record.key.decode(), json.loads(record.value)))

    async def stop(self) -> None:
        """Stop reading."""
        if self._task:
            self._task.cancel()
        await self.consumer.stop()

    async def wait_for(self, event_type: str, key: str) -> dict:
        """The body of the first `event_type` event keyed `key` (waits for the relay)."""

        async def find():
            for seen_type, seen_key, body in self.records:
                if seen_type == event_type and seen_key == key:
                    return body
            return None

        return await eventually(find)

    def of_type(self, event_type: str) -> list[dict]:
        """Bodies of every `event_type` event seen so far."""
        return [body for seen_type, _, body in self.records if seen_type == event_type]
