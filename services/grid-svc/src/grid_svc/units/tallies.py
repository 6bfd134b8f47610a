"""The units' tallies: how many active units of each level lie under a unit (`UnitTally`).

Every unit created adds one to a tally row of each of its ancestors, in the same transaction; the row stays locked
until that transaction commits. Units created side by side under one village would queue on the county's, the
town's and the village's rows, so each count is split over `SLOTS` rows and a read sums them. A transaction adds
to its database connection's own slot: a connection runs one transaction at a time, so two writers of a process
(its default pool holds 15 writers, fewer than the slots) never wait on each other's tally rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from itertools import count

from sqlalchemy import ARRAY, Integer, Select, String, bindparam, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from grid_svc.units.models import UnitTally
from shared.database import accumulate, accumulating_insert
from shared.scope import path_ids

SLOTS = 16
_next_slot = count()

TallyChanges = Counter[tuple[str, str]]
"""Units gained (or lost, negative) per (unit id, level), the unit being the one they lie under."""

_tallies = UnitTally.__table__
_KEY = ("unit_id", "level", "slot")
TALLIES_OF = (
    select(_tallies.c.level, func.sum(_tallies.c.units).label("units"))
    .where(_tallies.c.unit_id == bindparam("unit_id"))
    .group_by(_tallies.c.level)
)
"""A unit's tallies (bind `unit_id`): active units per level under it, for the levels it ever had."""


def tallied_below(unit_id: str, level: str | None) -> Select:
    """The active units under `unit_id` (of `level`, or of every level), summed from its tallies."""
    statement = select(func.coalesce(func.sum(_tallies.c.units), 0)).where(_tallies.c.unit_id == unit_id)
    return statement if level is None else statement.where(_tallies.c.level == level)


def under_ancestors(path: str, levels: Mapping[str, int], change: int = 1) -> TallyChanges:
    """`levels` (units per level) gained, or lost with `change` -1, under every ancestor of the unit at `path`."""
    changes = TallyChanges()
    for ancestor in path_ids(path)[:-1]:
        for level, units in levels.items():
            changes[ancestor, level] += change * units
    return changes


async def _slot(session: AsyncSession) -> int:
    """The slot of the session's connection (its info lives as long as the connection, across transactions)."""
    info = (await session.connection()).info
    return info.setdefault("unit_tally_slot", next(_next_slot) % SLOTS)


def _one_unit() -> Insert:
    ids = func.unnest(bindparam("tally_unit_ids", type_=ARRAY(String))).table_valued("unit_id").render_derived(name="ancestors")
    rows = select(ids.c.unit_id, bindparam("tally_level", type_=String), bindparam("tally_slot", type_=Integer), literal(1))
    return accumulating_insert("postgresql", _tallies, key=_KEY, add=["units"]).from_select([*_KEY, "units"], rows)


ONE_UNIT = _one_unit()
"""One new unit counted under its ancestors, in PostgreSQL (binds of `one_unit_params`): a WITH of the statement
that inserts the unit, so a create makes no round trip of its own for its tallies."""


async def one_unit_params(session: AsyncSession, path: str, level: str) -> dict[str, object]:
    """The parameters of `ONE_UNIT` for a unit at `path` of `level`: its ancestors in key order, like `tally_units`'."""
    return {"tally_unit_ids": sorted(path_ids(path)[:-1]), "tally_level": level, "tally_slot": await _slot(session)}


async def tally_units(session: AsyncSession, changes: TallyChanges) -> None:
    """Add `changes` to the tallies, in the same transaction as the change to the tree itself."""
    if not changes:
        return
    slot = await _slot(session)
    # One slot, in key order: two writers sharing a slot never wait on each other's rows in a circle.
    rows = [
        {"unit_id": unit_id, "level": level, "slot": slot, "units": units}
        for (unit_id, level), units in sorted(changes.items())
        if units
    ]
    await accumulate(session, _tallies, rows, key=_KEY, add=["units"])
