"""Handlers that keep the roster from grid-svc's events; each converges whatever the redelivery."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch_svc.roster.models import Household, Liaison, LiaisonKind, Member, Person
from shared.events.base import DomainEvent
from shared.events.envelope import Envelope
from shared.events.grid import (
    HouseholdDissolved,
    HouseholdMoved,
    HouseholdRegistered,
    HouseholdUpdated,
    LiaisonLinked,
    LiaisonUnlinked,
    MemberJoined,
    MemberLeft,
    PersonJoined,
    PersonLeft,
)
from shared.inbox import Handler


def _now() -> datetime:
    return datetime.now(UTC)


async def on_household_registered(session: AsyncSession, event: HouseholdRegistered, _: Envelope) -> None:
    """Record the household in its micro grid."""
    household = await session.get(Household, event.household_id)
    if household is None:
        household = Household(id=event.household_id, unit_id=event.unit_id, unit_path=event.unit_path, updated_at=_now())
        session.add(household)
    household.unit_id, household.unit_path = event.unit_id, event.unit_path
    household.address, household.head_name, household.updated_at = event.address, event.head_name, _now()


async def on_household_moved(session: AsyncSession, event: HouseholdMoved, _: Envelope) -> None:
    """Move the household to its new micro grid (created if the registration is still on its way)."""
    household = await session.get(Household, event.household_id)
    if household is None:
        session.add(Household(id=event.household_id, unit_id=event.unit_id, unit_path=event.unit_path, updated_at=_now()))
        return
    household.unit_id, household.unit_path, household.updated_at = event.unit_id, event.unit_path, _now()


async def on_household_updated(session: AsyncSession, event: HouseholdUpdated, _: Envelope) -> None:
    """Take the household's new address and head."""
    household = await session.get(Household, event.household_id)
    if household is not None:
        household.address, household.head_name, household.updated_at = event.address, event.head_name, _now()


async def on_household_dissolved(session: AsyncSession, event: HouseholdDissolved, _: Envelope) -> None:
    """Mark the household closed: it can place no new orders; its past orders stay."""
    household = await session.get(Household, event.household_id)
    if household is not None:
        household.dissolved_on, household.updated_at = event.dissolved_on, _now()


async def on_person_joined(session: AsyncSession, event: PersonJoined, _: Envelope) -> None:
    """Record the person's name and household."""
    person = await session.get(Person, event.person_id)
    if person is None:
        person = Person(id=event.person_id, name=event.name, updated_at=_now())
        session.add(person)
    person.name, person.household_id, person.unit_id = event.name, event.household_id, event.unit_id
    person.left_on, person.updated_at = None, _now()


async def on_person_left(session: AsyncSession, event: PersonLeft, _: Envelope) -> None:
    """Mark the person as gone (kept: past lectures still name them)."""
    person = await session.get(Person, event.person_id)
    if person is not None:
        person.left_on, person.updated_at = event.left_on, _now()


async def on_member_joined(session: AsyncSession, event: MemberJoined, _: Envelope) -> None:
    """Record the party membership."""
    member = await session.get(Member, event.member_id)
    if member is None:
        member = Member(
            id=event.member_id, person_id=event.person_id, name=event.name, org_unit_id=event.org_unit_id,
            joined_on=event.joined_on, updated_at=_now(),
        )
        session.add(member)
    member.person_id, member.name, member.org_unit_id = event.person_id, event.name, event.org_unit_id
    member.joined_on, member.left_on, member.updated_at = event.joined_on, None, _now()


async def on_member_left(session: AsyncSession, event: MemberLeft, _: Envelope) -> None:
    """End the membership."""
    member = await session.get(Member, event.member_id)
    if member is not None:
        member.left_on, member.updated_at = event.left_on, _now()


async def on_liaison_linked(session: AsyncSession, event: LiaisonLinked, _: Envelope) -> None:
    """Record who answers for which grid or household from when."""
    liaison = await session.get(Liaison, event.liaison_id)
    if liaison is None:
        liaison = Liaison(
            id=event.liaison_id, kind=LiaisonKind(event.kind), person_id=event.person_id, name=event.name,
            unit_id=event.unit_id, unit_path=event.unit_path, starts_on=event.starts_on, updated_at=_now(),
        )
        session.add(liaison)
    liaison.kind, liaison.person_id, liaison.name = LiaisonKind(event.kind), event.person_id, event.name
    liaison.member_id, liaison.household_id = event.member_id, event.household_id
    liaison.unit_id, liaison.unit_path, liaison.starts_on = event.unit_id, event.unit_path, event.starts_on
    liaison.updated_at = _now()


async def on_liaison_unlinked(session: AsyncSession, event: LiaisonUnlinked, _: Envelope) -> None:
    """End the link (kept for history)."""
    liaison = await session.get(Liaison, event.liaison_id)
    if liaison is None:
        liaison = Liaison(
            id=event.liaison_id, kind=LiaisonKind(event.kind), person_id=event.person_id, name="",
            household_id=event.household_id, unit_id=event.unit_id, unit_path="", starts_on=event.ended_on,
            updated_at=_now(),
        )
        session.add(liaison)
    liaison.ended_on, liaison.updated_at = event.ended_on, _now()


async def is_party_member(session: AsyncSession, person_id: str | None) -> bool:
    """True when the person holds a party membership that has not ended."""
    if person_id is None:
        return False
    found = await session.scalar(select(Member.id).where(Member.person_id == person_id, Member.left_on.is_(None)).limit(1))
    return found is not None


HANDLERS: dict[type[DomainEvent], Handler] = {
    HouseholdRegistered: on_household_registered,
    HouseholdMoved: on_household_moved,
    HouseholdUpdated: on_household_updated,
    HouseholdDissolved: on_household_dissolved,
    PersonJoined: on_person_joined,
    PersonLeft: on_person_left,
    MemberJoined: on_member_joined,
    MemberLeft: on_member_left,
    LiaisonLinked: on_liaison_linked,
    LiaisonUnlinked: on_liaison_unlinked,
}
