"""A stand-in for PostgreSQL's autovacuum while a bench run loads, on a server that has it off.

Production servers keep autovacuum on (README, Deployment). Without it a loading stack differs from a
deployed one in two ways that grow with the size: planner statistics stay those of the empty tables, and
the rows that updates leave dead are never reclaimed. Every outbox row is updated twice (claimed, then
sent), so the outbox's index of unsent rows keeps an entry for every event ever written and each claim of
the relay walks past them all: at 58 towns of the prefecture, 7.7 million dead rows in points-svc's outbox
beside 3.9 million live ones, a 168 MB index for 60,000 unsent rows, and a town loading 50 % slower than
the first one did.

So every `every` seconds each database's tables are held against autovacuum's own default thresholds
(from `pg_stat_user_tables`) and the ones due are vacuumed or analyzed, one at a time, as a single
autovacuum worker would do them.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

from sqlalchemy import text

from shared.database import Database

# autovacuum's defaults: a table is vacuumed past 50 + 20 % of its rows dead (or 1,000 + 20 % inserted since its
# last vacuum, PostgreSQL 13 on), analyzed past 50 + 10 % of its rows changed since its last analyze.
DUE = text(
    """
    SELECT format('%I.%I', s.schemaname, s.relname) AS name,
           s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0)
             OR s.n_ins_since_vacuum > 1000 + 0.2 * greatest(c.reltuples, 0) AS vacuum,
           s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0) AS analyze
      FROM pg_stat_user_tables AS s JOIN pg_class AS c ON c.oid = s.relid
     ORDER BY s.relname
    """
)


def upkeep_statement(name: str, *, vacuum: bool, analyze: bool) -> str | None:
    """The statement autovacuum would run on table `name` (quoted), or None when nothing is due."""
    if vacuum:
        return f"VACUUM (ANALYZE) {name}" if analyze else f"VACUUM {name}"
    return f"ANALYZE {name}" if analyze else None


async def upkeep(url: str) -> list[str]:
    """Vacuum and analyze the tables of `url`'s database that autovacuum would now; the statements run."""
    database = Database(url)
    try:
        async with database.reader.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM runs outside a transaction
            due = (await conn.execute(DUE)).all()
            statements = [s for s in (upkeep_statement(n, vacuum=v, analyze=a) for n, v, a in due) if s is not None]
            for statement in statements:
                await conn.execute(text(statement))
            return statements
    finally:
        await database.dispose()


async def run_statement(url: str, statement: str) -> Any:
    """Run one statement on its own connection, outside a transaction (as VACUUM must); its first value, if any."""
    database = Database(url)
    try:
        async with database.reader.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            result = await conn.execute(text(statement))
            return result.scalar() if result.returns_rows else None
    finally:
        await database.dispose()


async def autovacuum_on(url: str) -> bool:
    """True when the server of `url` runs its own autovacuum."""
    return await run_statement(url, "SHOW autovacuum") == "on"


class Autovacuum(threading.Thread):
    """`upkeep` of every database every `every` seconds until stopped; `done` counts the VACUUMs and ANALYZEs."""

    def __init__(self, urls: list[str], every: float = 30.0) -> None:
        super().__init__(name="bench-autovacuum", daemon=True)
        self.urls = urls
        self.every = every
        self.done: Counter[str] = Counter()
        self._halt = threading.Event()

    def needed(self) -> bool:
        """True when the server's own autovacuum is off."""
        return not asyncio.run(autovacuum_on(self.urls[0]))

    def run(self) -> None:
        """Each round, every database in turn."""
        while not self._halt.wait(self.every):
            for url in self.urls:
                for statement in asyncio.run(upkeep(url)):
                    self.done[statement.split(" ", 1)[0]] += 1

    def stop(self) -> None:
        """Stop after the statement under way, if any."""
        self._halt.set()
        if self.is_alive():
            self.join()
