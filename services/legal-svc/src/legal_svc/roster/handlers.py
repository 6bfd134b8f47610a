"""Applies grid-svc's MemberJoined / MemberLeft to the roster (idempotent, order-tolerant)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from legal_svc.roster.models import PartyMembership
from shared.events.envelope import Envelope
from shared.events.grid import MemberJoined, MemberLeft


async def on_member_joined(session: AsyncSession, event: MemberJoined, _: Envelope) -> None:
    """Record (or refresh) the membership."""
    membership = await session.get(PartyMembership, event.member_id)
    if membership is None:
        session.add(
            PartyMembership(
                member_id=event.member_id,
                person_id=event.person_id,
                name=event.name,
                org_unit_id=event.org_unit_id,
                joined_on=event.joined_on,
            )
        )
    else:
        membership.person_id, membership.name = event.person_id, event.name
        membership.org_unit_id, membership.joined_on = event.org_unit_id, event.joined_on


async def on_member_left(session: AsyncSession, event: MemberLeft, _: Envelope) -> None:
    """Mark the membership ended; a leave that arrives before its join still counts."""
    membership = await session.get(PartyMembership, event.member_id)
    if membership is None:
        session.add(
            PartyMembership(
                member_id=event.member_id,
                person_id=event.person_id,
                name="",
                org_unit_id="",
                joined_on=event.left_on,
                left_on=event.left_on,
            )
        )
    else:
        membership.left_on = event.left_on


async def is_party_member(session: AsyncSession, person_id: str | None, on: date) -> bool:
    """True when the person held a party membership on `on`."""
    if person_id is None:
        return False
    found = await session.scalar(
        select(PartyMembership.member_id).where(
            PartyMembership.person_id == person_id,
            PartyMembership.joined_on <= on,
            (PartyMembership.left_on.is_(None)) | (PartyMembership.left_on > on),
        ).limit(1)
    )
    return found is not None


