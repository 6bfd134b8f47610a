"""How long a service keeps the events it sent and the ids of the events it applied, and their pruning.

Unpruned, the outbox keeps a row for every event a service ever wrote and the inbox one for every event each
of its consumers applied: at 58 towns of a prefecture, points-svc's outbox held 3.9 million sent events in
8.7 GB, more than the ledger they tell of. So a service deletes, a batch at a time, every `every_s` seconds:
- outbox rows written more than `outbox_keep` ago and sent (an unsent row is never deleted);
- inbox rows of events written more than `inbox_keep` ago. A consumer needs an event's id only while the broker
  may deliver the event again, so the default outlives Kafka's default retention of seven days.

Both tables are keyed by the event's id, a ULID that begins with the time the event was written: the rows to
prune are the index range below the first id of the cutoff, read in id order whatever the table's size.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import ColumnElement, Table, delete, select

from shared.database import Database
from shared.ids import first_id_at

log = structlog.get_logger("shared.retention")

BATCH = 5000  # rows a transaction deletes: short locks, and a busy table's writers barely wait


async def prune_below(
    database: Database, table: Table, cutoff_id: str, *conditions: ColumnElement[bool], batch: int = BATCH
) -> int:
    """Delete the rows of `table` (an outbox or inbox) whose event ids sort below `cutoff_id` and that meet
    `conditions`, oldest first, a transaction per `batch` rows (and the other rows of the last one's event), until
    none is left; how many rows went.

    Each transaction deletes a range of ids, up to the `batch`-th oldest: read on the id's index, not a list
    of keys to match (for which PostgreSQL chose to scan the whole inbox).
    """
    key = table.c.event_id
    total = 0
    while True:
        async with database.transaction() as session:
            upper = await session.scalar(select(key).where(key < cutoff_id, *conditions).order_by(key).offset(batch - 1).limit(1))
            in_range = key <= upper if upper is not None else key < cutoff_id
            deleted = (await session.execute(delete(table).where(in_range, *conditions))).rowcount
        if not deleted:
            return total
        total += deleted
        await asyncio.sleep(0)  # let requests in between batches


@dataclass
class Retention:
    """The pruning of one service's outbox and inbox; a keep of None keeps that table's rows for ever."""

    database: Database
    outbox: Table
    inbox: Table
    outbox_keep: timedelta | None
    inbox_keep: timedelta | None
    every_s: float = 600.0
    batch: int = BATCH

    async def prune(self, now: datetime | None = None) -> dict[str, int]:
        """Delete what is past its keep now; the rows deleted per table."""
        now = now or datetime.now(UTC)
        pruned = {}
        if self.outbox_keep is not None:
            cutoff = first_id_at(now - self.outbox_keep)
            sent = self.outbox.c.sent_at.is_not(None)
            pruned["outbox"] = await prune_below(self.database, self.outbox, cutoff, sent, batch=self.batch)
        if self.inbox_keep is not None:
            cutoff = first_id_at(now - self.inbox_keep)
            pruned["inbox"] = await prune_below(self.database, self.inbox, cutoff, batch=self.batch)
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
