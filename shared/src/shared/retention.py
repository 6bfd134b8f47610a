"""How long a service keeps the events it sent, the ids of the events it applied and its stored answers, and their
pruning.

Unpruned, the outbox keeps a row for every event a service ever wrote and the inbox one for every event each
of its consumers applied: at 58 towns of a prefecture, points-svc's outbox held 3.9 million sent events in
8.7 GB, more than the ledger they tell of. So a service deletes, a batch at a time, every `every_s` seconds:
- outbox rows written more than `outbox_keep` ago and sent (an unsent row is never deleted);
- inbox rows of events written more than `inbox_keep` ago. A consumer needs an event's id only while the broker
  may deliver the event again, so the default outlives Kafka's default retention of seven days;
- idempotency keys (with the answer each stored) made more than `idempotency_keep` ago: a client retries a
  request within minutes, or resumes a crashed run within days, never a month on.

The outbox and inbox are keyed by the event's id, a ULID that begins with the time the event was written, the
idempotency keys indexed by when they were made: the rows to prune are the index range below the cutoff, read in
that order whatever the table's size.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Column, ColumnElement, delete, select

from shared.database import Database
from shared.ids import first_id_at
from shared.tables import PlatformTables

log = structlog.get_logger("shared.retention")

BATCH = 5000  # rows a transaction deletes: short locks, and a busy table's writers barely wait


async def prune_below(
    database: Database, key: Column, cutoff: Any, *conditions: ColumnElement[bool], batch: int = BATCH
) -> int:
    """Delete the rows of `key`'s table whose `key` (an indexed column) sorts below `cutoff` and that meet
    `conditions`, oldest first, a transaction per `batch` rows (and the other rows of the last one's key), until
    none is left; how many rows went.

    Each transaction deletes a range of keys, up to the `batch`-th oldest: read on the key's index, not a list
    of keys to match (for which PostgreSQL chose to scan the whole inbox).
    """
    total = 0
    while True:
        async with database.transaction() as session:
            upper = await session.scalar(select(key).where(key < cutoff, *conditions).order_by(key).offset(batch - 1).limit(1))
            in_range = key <= upper if upper is not None else key < cutoff
            deleted = (await session.execute(delete(key.table).where(in_range, *conditions))).rowcount
        if not deleted:
            return total
        total += deleted
        await asyncio.sleep(0)  # let requests in between batches


@dataclass
class Retention:
    """The pruning of one service's platform tables; a keep of None keeps that table's rows for ever."""

    database: Database
    tables: PlatformTables
    outbox_keep: timedelta | None
    inbox_keep: timedelta | None
    idempotency_keep: timedelta | None
    every_s: float = 600.0
    batch: int = BATCH

    async def prune(self, now: datetime | None = None) -> dict[str, int]:
        """Delete what is past its keep now; the rows deleted per table."""
        now = now or datetime.now(UTC)
        outbox, inbox, idempotency = self.tables.outbox, self.tables.inbox, self.tables.idempotency
        pruned = {}
        if self.outbox_keep is not None:
            cutoff = first_id_at(now - self.outbox_keep)
            sent = outbox.c.sent_at.is_not(None)
            pruned["outbox"] = await prune_below(self.database, outbox.c.event_id, cutoff, sent, batch=self.batch)
        if self.inbox_keep is not None:
            cutoff = first_id_at(now - self.inbox_keep)
            pruned["inbox"] = await prune_below(self.database, inbox.c.event_id, cutoff, batch=self.batch)
        if self.idempotency_keep is not None:
            cutoff = now - self.idempotency_keep
            pruned["idempotency"] = await prune_below(self.database, idempotency.c.created_at, cutoff, batch=self.batch)
        return pruned

    async def run_forever(self) -> None:
        """Prune every `every_s` seconds; a failure (the database away) is logged and tried again next time."""
        while True:
            await asyncio.sleep(self.every_s)
            try:
                pruned = await self.prune()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the next round tries again
                log.warning("retention.failed", error=repr(exc))
                continue
            if any(pruned.values()):
                log.info("retention.pruned", **pruned)
