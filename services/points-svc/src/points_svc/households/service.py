"""Household use cases: apply grid-svc's household events."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from points_svc.households.models import Household
from shared.database import update_by_key, upsert
from shared.events.envelope import Envelope
from shared.events.grid import HouseholdDissolved, HouseholdMoved, HouseholdRegistered, HouseholdUpdated
from shared.scope import rebase_subtree


async def on_household_registered(session: AsyncSession, event: HouseholdRegistered, _: Envelope) -> None:
    """Add (or refresh) the household."""
    await on_households_registered(session, [event])


async def on_households_registered(session: AsyncSession, events: list[HouseholdRegistered]) -> None:
    """`on_household_registered` for a run of events, in one execution."""
    now = datetime.now(UTC)
    rows = [
        {"id": e.household_id, "unit_id": e.unit_id, "unit_path": e.unit_path, "address": e.address, "head_name": e.head_name,
         "updated_at": now}
        for e in events
    ]
    await upsert(session, Household.__table__, rows)


async def on_household_moved(session: AsyncSession, event: HouseholdMoved, _: Envelope) -> None:
    """The household now belongs to another micro grid."""
    await session.execute(
        update(Household)
        .where(Household.id == event.household_id)
        .values(unit_id=event.unit_id, unit_path=event.unit_path, updated_at=datetime.now(UTC))
    )


async def on_household_updated(session: AsyncSession, event: HouseholdUpdated, _: Envelope) -> None:
    """Take the household's new address and head."""
    await on_households_updated(session, [event])


async def on_households_updated(session: AsyncSession, events: list[HouseholdUpdated]) -> None:
    """`on_household_updated` for a run of events, in one execution."""
    now = datetime.now(UTC)
    rows = [{"id": e.household_id, "address": e.address, "head_name": e.head_name, "updated_at": now} for e in events]
    await update_by_key(session, Household.__table__, rows)


async def on_household_dissolved(session: AsyncSession, event: HouseholdDissolved, _: Envelope) -> None:
    """The household was closed: it can no longer be put up in appraisals."""
    await session.execute(
        update(Household)
        .where(Household.id == event.household_id)
        .values(dissolved_on=event.dissolved_on, updated_at=datetime.now(UTC))
    )


async def rebase_paths(session: AsyncSession, *, old_path: str, new_path: str) -> None:
    """A unit moved with its subtree: households under it take the new path."""
    await rebase_subtree(session, old_path, new_path, Household.__table__.c.unit_path)
