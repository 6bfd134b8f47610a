"""Handlers that keep the roster from grid-svc's events; each converges whatever the redelivery."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch_svc.roster.models import Household, Liaison, LiaisonKind, Member, Person
from shared.database import update_by_key, upsert
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
from shared.inbox import Handler, RunHandler


def _now() -> datetime:
    return datetime.now(UTC)


# Every handler is one statement on the replica's tables (no ORM read first), so a redelivery or an event that
# overtook another converges; the creates also take a run of events in one execution (`RunHandler`).
_households, _people, _members, _liaisons = Household.__table__, Person.__table__, Member.__table__, Liaison.__table__


async def on_household_registered(session: AsyncSession, event: HouseholdRegistered, _: Envelope) -> None:
    """Record the household in its micro grid (or write its fields again)."""
    await on_households_registered(session, [event])


async def on_households_registered(session: AsyncSession, events: list[HouseholdRegistered]) -> None:
    """`on_household_registered` for a run of events, in one execution."""
    now = _now()
    rows = [
        {"id": e.household_id, "unit_id": e.unit_id, "unit_path": e.unit_path, "address": e.address, "head_name": e.head_name,
         "updated_at": now}
        for e in events
    ]
    await upsert(session, _households, rows)


async def on_household_moved(session: AsyncSession, event: HouseholdMoved, _: Envelope) -> None:
    """Move the household to its new micro grid (created if the registration is still on its way)."""
    row = {"id": event.household_id, "unit_id": event.unit_id, "unit_path": event.unit_path, "updated_at": _now()}
    await upsert(session, _households, [row])


async def on_household_updated(session: AsyncSession, event: HouseholdUpdated, _: Envelope) -> None:
    """Take the household's new address and head."""
    await on_households_updated(session, [event])


async def on_households_updated(session: AsyncSession, events: list[HouseholdUpdated]) -> None:
    """`on_household_updated` for a run of events, in one execution."""
    now = _now()
    rows = [{"id": e.household_id, "address": e.address, "head_name": e.head_name, "updated_at": now} for e in events]
    await update_by_key(session, _households, rows)


async def on_household_dissolved(session: AsyncSession, event: HouseholdDissolved, _: Envelope) -> None:
    """Mark the household closed: it can place no new orders; its past orders stay."""
    await session.execute(
        update(_households).where(_households.c.id == event.household_id).values(dissolved_on=event.dissolved_on, updated_at=_now())
    )


async def on_person_joined(session: AsyncSession, event: PersonJoined, _: Envelope) -> None:
    """Record the person's name and household (a person who had left is back)."""
    await on_people_joined(session, [event])


async def on_people_joined(session: AsyncSession, events: list[PersonJoined]) -> None:
    """`on_person_joined` for a run of events, in one execution."""
    now = _now()
    rows = [
        {"id": e.person_id, "name": e.name, "household_id": e.household_id, "unit_id": e.unit_id, "left_on": None, "updated_at": now}
        for e in events
    ]
    await upsert(session, _people, rows)


async def on_person_left(session: AsyncSession, event: PersonLeft, _: Envelope) -> None:
    """Mark the person as gone (kept: past lectures still name them)."""
    await session.execute(update(_people).where(_people.c.id == event.person_id).values(left_on=event.left_on, updated_at=_now()))


async def on_member_joined(session: AsyncSession, event: MemberJoined, _: Envelope) -> None:
    """Record the party membership (a membership that had ended is current again)."""
    await on_members_joined(session, [event])


async def on_members_joined(session: AsyncSession, events: list[MemberJoined]) -> None:
    """`on_member_joined` for a run of events, in one execution."""
    now = _now()
    rows = [
        {
            "id": e.member_id, "person_id": e.person_id, "name": e.name, "org_unit_id": e.org_unit_id, "joined_on": e.joined_on,
            "left_on": None, "updated_at": now,
        }
        for e in events
    ]
    await upsert(session, _members, rows)


async def on_member_left(session: AsyncSession, event: MemberLeft, _: Envelope) -> None:
    """End the membership."""
    await session.execute(update(_members).where(_members.c.id == event.member_id).values(left_on=event.left_on, updated_at=_now()))


async def on_liaison_linked(session: AsyncSession, event: LiaisonLinked, _: Envelope) -> None:
    """Record who answers for which grid or household from when (an ended link keeps its end)."""
    await on_liaisons_linked(session, [event])


async def on_liaisons_linked(session: AsyncSession, events: list[LiaisonLinked]) -> None:
    """`on_liaison_linked` for a run of events, in one execution."""
    now = _now()
    rows = [
        {
            "id": e.liaison_id, "kind": LiaisonKind(e.kind), "person_id": e.person_id, "name": e.name, "member_id": e.member_id,
            "household_id": e.household_id, "unit_id": e.unit_id, "unit_path": e.unit_path, "starts_on": e.starts_on, "updated_at": now,
        }
        for e in events
    ]
    await upsert(session, _liaisons, rows)


async def on_liaison_unlinked(session: AsyncSession, event: LiaisonUnlinked, _: Envelope) -> None:
    """End the link (kept for history); an end that overtook its link is kept until the link arrives."""
    row = {
        "id": event.liaison_id, "kind": LiaisonKind(event.kind), "person_id": event.person_id, "name": "",
        "household_id": event.household_id, "unit_id": event.unit_id, "unit_path": "", "starts_on": event.ended_on,
        "ended_on": event.ended_on, "updated_at": _now(),
    }
    await upsert(session, _liaisons, [row], refresh=("ended_on", "updated_at"))


async def is_party_member(session: AsyncSession, person_id: str | None) -> bool:
    """True when the person holds a party membership that has not ended."""
    if person_id is None:
        return False
    found = await session.scalar(select(Member.id).where(Member.person_id == person_id, Member.left_on.is_(None)).limit(1))
    return found is not None


HANDLERS: dict[type[DomainEvent], Handler] = {
    HouseholdRegistered: RunHandler(on_household_registered, on_households_registered),
    HouseholdMoved: on_household_moved,
    HouseholdUpdated: RunHandler(on_household_updated, on_households_updated),
    HouseholdDissolved: on_household_dissolved,
    PersonJoined: RunHandler(on_person_joined, on_people_joined),
    PersonLeft: on_person_left,
    MemberJoined: RunHandler(on_member_joined, on_members_joined),
    MemberLeft: on_member_left,
    LiaisonLinked: RunHandler(on_liaison_linked, on_liaisons_linked),
    LiaisonUnlinked: on_liaison_unlinked,
}
