"""The households' tallies: how many a micro grid has that are not dissolved (`HouseholdTally`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from grid_svc.households.models import HouseholdTally
from shared.database import accumulate
from shared.scope import town_of


async def tally_households(session: AsyncSession, changes: Iterable[tuple[str, int]]) -> None:
    """Add each change (a micro grid's path, households gained or lost) to that micro grid's tally, in the same
    transaction as the change itself."""
    totals = Counter[str]()
    for unit_path, change in changes:
        totals[unit_path] += change
    # In path order, so two writers never wait on each other's tally rows in a circle.
    rows = [
        {"unit_path": path, "town_unit_id": town_of(path), "households": change}
        for path, change in sorted(totals.items())
        if change
    ]
    await accumulate(session, HouseholdTally.__table__, rows, key=["unit_path"], add=["households"])
