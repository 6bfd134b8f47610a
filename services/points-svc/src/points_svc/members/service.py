"""Member use cases: apply grid-svc's member events, read the roster in scope."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Row, Select, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from points_svc.db import grid
from points_svc.members.models import Member
from points_svc.tree import branch_of
from shared.database import Database
from shared.events.envelope import Envelope
from shared.events.grid import MemberJoined, MemberLeft
from shared.identity import Identity
from shared.problems import not_found
from shared.scope import fetch_in_scope, in_subtree, path_in_scope, rebase_subtree, scope_condition, town_of


async def on_member_joined(session: AsyncSession, event: MemberJoined, _: Envelope) -> None:
    """Add the member to the roster (or refresh them: a re-sent event converges)."""
    path = event.org_unit_path
    # The replica may already know a newer path for the unit (it moved since the event was written).
    known = await grid.get(session, event.org_unit_id)
    if known is not None:
        path = known.path
    branch_id, _branch_path = branch_of(path)
    values = dict(
        person_id=event.person_id,
        name=event.name,
        party_org_id=event.party_org_id,
        org_kind=event.org_kind,
        org_unit_id=event.org_unit_id,
        unit_path=path,
        branch_unit_id=branch_id,
        town_unit_id=town_of(path),
        joined_on=event.joined_on,
        left_on=None,
        updated_at=datetime.now(UTC),
    )
    member = await session.get(Member, event.member_id)
    if member is None:
        session.add(Member(id=event.member_id, **values))
    else:
        for key, value in values.items():
            setattr(member, key, value)
    await session.flush()


async def on_member_left(session: AsyncSession, event: MemberLeft, _: Envelope) -> None:
    """Mark the member as left; their entries stay in the ledger."""
    await session.execute(
        update(Member).where(Member.id == event.member_id).values(left_on=event.left_on, updated_at=datetime.now(UTC))
    )


async def rebase_paths(session: AsyncSession, *, old_path: str, new_path: str) -> None:
    """A unit moved with its subtree: members under it take the new path, branch and town."""
    await rebase_subtree(session, old_path, new_path, Member.__table__.c.unit_path)
    moved = (await session.execute(select(Member).where(in_subtree(Member.unit_path, new_path)))).scalars().all()
    for member in moved:
        member.branch_unit_id, _ = branch_of(member.unit_path)
        member.town_unit_id = town_of(member.unit_path)


async def active_member_for_person(session: AsyncSession, person_id: str) -> Member | None:
    """The person's current membership (the latest joined, if several)."""
    return (
        await session.execute(
            select(Member)
            .where(Member.person_id == person_id, Member.left_on.is_(None))
            .order_by(Member.joined_on.desc(), Member.id)
            .limit(1)
        )
    ).scalar_one_or_none()


MEMBER_IN_SCOPE = select(Member.__table__, grid.scope_path_column()).where(Member.id == bindparam("member_id"))


async def read_member(db: Database, *, identity: Identity, member_id: str) -> Row:
    """The member as a row if they lie in the caller's scope, else 404 (one round trip)."""
    return await fetch_in_scope(db, MEMBER_IN_SCOPE, identity, path="unit_path", record="member", member_id=member_id)


async def get_member(session: AsyncSession, *, identity: Identity, member_id: str) -> Member:
    """The member if they lie in the caller's scope, else 404."""
    member = await session.get(Member, member_id)
    if member is None or not path_in_scope(member.unit_path, identity, await grid.scope_path(session, identity)):
        raise not_found("member")
    return member


def list_members_query(
    *, identity: Identity, scope_path: str | None, under_path: str | None, branch_unit_id: str | None,
    name_contains: str | None, include_left: bool,
) -> Select:
    """Members in scope ordered by branch, name and id."""
    statement = select(Member).where(scope_condition(Member.unit_path, identity, scope_path))
    if under_path is not None:
        statement = statement.where(in_subtree(Member.unit_path, under_path))
    if branch_unit_id is not None:
        statement = statement.where(Member.branch_unit_id == branch_unit_id)
    if name_contains:
        statement = statement.where(Member.name.contains(name_contains, autoescape=True))
    if not include_left:
        statement = statement.where(Member.left_on.is_(None))
    return statement.order_by(Member.branch_unit_id, Member.name, Member.id)
