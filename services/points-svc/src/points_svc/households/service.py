"""Household use cases: apply grid-svc's household events."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, literal, update
from sqlalchemy.ext.asyncio import AsyncSession

from points_svc.households.models import Household
from shared.events.envelope import Envelope
from shared.events.grid import HouseholdDissolved, HouseholdMoved, HouseholdRegistered, HouseholdUpdated
from shared.scope import in_subtree


async def on_household_registered(session: AsyncSession, event: HouseholdRegistered, _: Envelope) -> None:
    """Add (or refresh) the household."""
    household = await session.get(Household, event.household_id)
    values = dict(
        unit_id=event.unit_id, unit_path=event.unit_path, address=event.address, head_name=event.head_name,
        updated_at=datetime.now(UTC),
    )
    if household is None:
        session.add(Household(id=event.household_id, **values))
    else:
        for key, value in values.items():
            setattr(household, key, value)
    await session.flush()


async def on_household_moved(session: AsyncSession, event: HouseholdMoved, _: Envelope) -> None:
    """The household now belongs to another micro grid."""
    await session.execute(
        update(Household)
        .where(Household.id == event.household_id)
        .values(unit_id=event.unit_id, unit_path=event.unit_path, updated_at=datetime.now(UTC))
    )


async def on_household_updated(session: AsyncSession, event: HouseholdUpdated, _: Envelope) -> None:
    """Take the household's new address and head."""
    await session.execute(
        update(Household)
        .where(Household.id == event.household_id)
        .values(address=event.address, head_name=event.head_name, updated_at=datetime.now(UTC))
    )


async def on_household_dissolved(session: AsyncSession, event: HouseholdDissolved, _: Envelope) -> None:
    """The household was closed: it can no longer be put up in appraisals."""
    await session.execute(
        update(Household)
        .where(Household.id == event.household_id)
        .values(dissolved_on=event.dissolved_on, updated_at=datetime.now(UTC))
    )


async def rebase_paths(session: AsyncSession, *, old_path: str, new_path: str) -> None:
    """A unit moved with its subtree: households under it take the new path."""
    await session.execute(
        update(Household)
        .where(in_subtree(Household.unit_path, old_path))
        .values(unit_path=literal(new_path) + func.substr(Household.unit_path, len(old_path) + 1))
        .execution_options(synchronize_session=False)
    )
