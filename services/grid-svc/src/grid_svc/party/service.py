"""Party organisation use cases: organisations mirror towns, villages and grids; members join and leave."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Row, Select, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from grid_svc.access import require_grid_admin
from grid_svc.dates import now
from grid_svc.liaisons.models import Liaison
from grid_svc.party.models import (
    MemberStatus,
    OrgKind,
    PartyMember,
    PartyMemberCreate,
    PartyMemberPublic,
    PartyOrg,
    PartyOrgPublic,
)
from grid_svc.people.models import Person
from grid_svc.people.service import get_person
from grid_svc.units.models import Unit
from grid_svc.units.service import get_unit, scope_path_of
from grid_svc.units.shape import keep_tree_shape
from shared.database import Database
from shared.events.grid import LiaisonUnlinked, MemberJoined, MemberLeft
from shared.identity import Identity
from shared.ids import new_id
from shared.local_time import today
from shared.outbox import emit
from shared.problems import conflict, not_found, unprocessable
from shared.scope import caller_scope_path, fetch_in_scope, in_subtree, path_in_scope, scope_condition


def _current(day: date):  # noqa: ANN202 - a SQL condition
    return or_(PartyMember.left_on.is_(None), PartyMember.left_on > day)


async def get_org(session: AsyncSession, *, identity: Identity, org_id: str) -> tuple[PartyOrg, Unit]:
    """The organisation and its unit if in the caller's scope, else 404."""
    row = (await session.execute(select(PartyOrg, Unit).join(Unit, Unit.id == PartyOrg.unit_id).where(PartyOrg.id == org_id))).first()
    if row is None or not path_in_scope(row[1].path, identity, await scope_path_of(session, identity)):
        raise not_found("party organisation")
    return row[0], row[1]


async def org_of_unit(session: AsyncSession, *, identity: Identity, unit_id: str) -> tuple[PartyOrg, Unit]:
    """The organisation mirroring a town, village or grid in scope, else 404."""
    unit = await get_unit(session, identity=identity, unit_id=unit_id)
    org = await session.scalar(select(PartyOrg).where(PartyOrg.unit_id == unit.id))
    if org is None:
        raise not_found(f"party organisation of this {unit.level.value}")
    return org, unit


def org_public(org: PartyOrg, unit: Unit, active_members: int | None = None) -> PartyOrgPublic:
    """The API shape of an organisation."""
    return PartyOrgPublic(
        id=org.id, unit_id=unit.id, kind=org.kind, name=org.name, unit_name=unit.name, unit_path=unit.path, active_members=active_members
    )


def list_orgs_query(*, identity: Identity, scope_path: str | None, under: Unit | None, kind: OrgKind | None) -> Select:
    """Organisations in scope with their unit and count of current members, ordered by unit path."""
    members = (
        select(func.count()).where(PartyMember.party_org_id == PartyOrg.id, _current(today())).correlate(PartyOrg).scalar_subquery()
    )
    statement = (
        select(PartyOrg, Unit, members)
        .join(Unit, Unit.id == PartyOrg.unit_id)
        .where(scope_condition(Unit.path, identity, scope_path), Unit.retired_at.is_(None))
    )
    if under is not None:
        statement = statement.where(in_subtree(Unit.path, under.path))
    if kind is not None:
        statement = statement.where(PartyOrg.kind == kind)
    return statement.order_by(Unit.path)


async def rename_org(session: AsyncSession, *, identity: Identity, org_id: str, name: str) -> tuple[PartyOrg, Unit]:
    """Give an organisation its official name."""
    require_grid_admin(identity)
    org, unit = await get_org(session, identity=identity, org_id=org_id)
    name = name.strip()
    if not name:
        raise unprocessable("name must not be blank", loc=["body", "name"])
    org.name = name
    org.updated_at = now()
    return org, unit


MEMBER_IN_SCOPE = (
    select(
        PartyMember.id, PartyMember.person_id, Person.name, PartyMember.party_org_id, PartyOrg.name.label("org_name"),
        PartyOrg.kind.label("org_kind"), PartyOrg.unit_id, PartyMember.joined_on, PartyMember.status, PartyMember.left_on,
        PartyMember.left_reason, Unit.path, caller_scope_path(Unit.id, Unit.path),
    )
    .join(Person, Person.id == PartyMember.person_id)
    .join(PartyOrg, PartyOrg.id == PartyMember.party_org_id)
    .join(Unit, Unit.id == PartyOrg.unit_id)
    .where(PartyMember.id == bindparam("member_id"))
)
"""A member (bind `member_id`) in the API's shape, with the path of their organisation's unit and the caller's
scope path (see `fetch_in_scope`)."""


async def read_member(db: Database, *, identity: Identity, member_id: str) -> Row:
    """The member's columns in the API's shape (`PartyMemberPublic`) if their organisation lies in the caller's
    scope, else 404, in one round trip; `scope_path` is the caller's."""
    return await fetch_in_scope(db, MEMBER_IN_SCOPE, identity, path="path", record="party member", member_id=member_id)


async def get_member(session: AsyncSession, *, identity: Identity, member_id: str) -> PartyMember:
    """The member if their organisation lies in the caller's scope, else 404."""
    row = (
        await session.execute(
            select(PartyMember, Unit.path)
            .join(PartyOrg, PartyOrg.id == PartyMember.party_org_id)
            .join(Unit, Unit.id == PartyOrg.unit_id)
            .where(PartyMember.id == member_id)
        )
    ).first()
    if row is None or not path_in_scope(row[1], identity, await scope_path_of(session, identity)):
        raise not_found("party member")
    return row[0]


async def member_public(session: AsyncSession, member: PartyMember) -> PartyMemberPublic:
    """The API shape of one member (names looked up)."""
    row = (
        await session.execute(
            select(Person.name, PartyOrg).join(PartyOrg, PartyOrg.id == member.party_org_id).where(Person.id == member.person_id)
        )
    ).first()
    return to_member_public(member, row[0], row[1])


def to_member_public(member: PartyMember, name: str, org: PartyOrg) -> PartyMemberPublic:
    """The API shape of a member from loaded rows."""
    return PartyMemberPublic(
        id=member.id,
        person_id=member.person_id,
        name=name,
        party_org_id=org.id,
        org_name=org.name,
        org_kind=org.kind,
        unit_id=org.unit_id,
        joined_on=member.joined_on,
        status=member.status,
        left_on=member.left_on,
        left_reason=member.left_reason,
    )


async def join_member(session: AsyncSession, *, identity: Identity, data: PartyMemberCreate) -> PartyMember:
    """A registered person joins an organisation; emit MemberJoined. One current membership per person."""
    require_grid_admin(identity)
    await keep_tree_shape(session)
    if (data.party_org_id is None) == (data.unit_id is None):
        raise unprocessable("give party_org_id or unit_id (one of them)", loc=["body", "party_org_id"])
    if data.party_org_id is not None:
        org, unit = await get_org(session, identity=identity, org_id=data.party_org_id)
    else:
        org, unit = await org_of_unit(session, identity=identity, unit_id=data.unit_id)
    if unit.retired_at is not None:
        raise unprocessable("the organisation's unit is retired", loc=["body", "party_org_id"])
    person = await get_person(session, identity=identity, person_id=data.person_id)
    if data.joined_on > today():
        raise unprocessable("joined_on is in the future", loc=["body", "joined_on"])
    current = await session.scalar(select(PartyMember.id).where(PartyMember.person_id == person.id, _current(today())))
    if current is not None:
        raise conflict("the person is already a member of an organisation; record the transfer as leave + join", code="already_member")
    moment = now()
    member = PartyMember(
        id=new_id(),
        person_id=person.id,
        party_org_id=org.id,
        joined_on=data.joined_on,
        status=data.status,
        created_at=moment,
        updated_at=moment,
    )
    session.add(member)
    emit(
        session,
        MemberJoined(
            member_id=member.id,
            person_id=person.id,
            name=person.name,
            party_org_id=org.id,
            org_kind=org.kind.value,
            org_unit_id=unit.id,
            org_unit_path=unit.path,
            joined_on=member.joined_on,
        ),
    )
    return member


async def set_status(session: AsyncSession, *, identity: Identity, member_id: str, status: MemberStatus) -> PartyMember:
    """Change a member's status (probationary → full)."""
    require_grid_admin(identity)
    member = await get_member(session, identity=identity, member_id=member_id)
    if member.left_on is not None:
        raise conflict("the member has left", code="member_left")
    member.status = status
    member.updated_at = now()
    return member


async def leave(session: AsyncSession, *, identity: Identity, member_id: str, left_on: date | None, reason: str | None) -> PartyMember:
    """A member leaves on `left_on`; their household links end the same day; emit MemberLeft."""
    require_grid_admin(identity)
    member = await get_member(session, identity=identity, member_id=member_id)
    if member.left_on is not None:
        raise conflict("the member has already left", code="member_left")
    day = left_on or today()
    if day < member.joined_on:
        raise unprocessable("left_on is before the member joined", loc=["body", "left_on"])
    member.left_on = day
    member.left_reason = reason
    member.updated_at = now()
    links = (
        await session.execute(select(Liaison).where(Liaison.member_id == member.id, or_(Liaison.ends_on.is_(None), Liaison.ends_on > day)))
    ).scalars().all()
    for link in links:
        link.ends_on = max(day, link.starts_on)
        link.updated_at = now()
        emit(
            session,
            LiaisonUnlinked(
                liaison_id=link.id, kind=link.kind.value, person_id=link.person_id, household_id=link.household_id, unit_id=link.unit_id, ended_on=link.ends_on
            ),
        )
    emit(session, MemberLeft(member_id=member.id, person_id=member.person_id, left_on=day, reason=reason))
    return member


def list_members_query(
    *,
    identity: Identity,
    scope_path: str | None,
    under: Unit | None,
    org_id: str | None,
    status: MemberStatus | None,
    current_only: bool,
    q: str | None,
) -> Select:
    """Members in scope with names and organisations, ordered by name."""
    statement = (
        select(PartyMember, Person.name, PartyOrg)
        .join(Person, Person.id == PartyMember.person_id)
        .join(PartyOrg, PartyOrg.id == PartyMember.party_org_id)
        .join(Unit, Unit.id == PartyOrg.unit_id)
        .where(scope_condition(Unit.path, identity, scope_path))
    )
    if under is not None:
        statement = statement.where(in_subtree(Unit.path, under.path))
    if org_id is not None:
        statement = statement.where(PartyMember.party_org_id == org_id)
    if status is not None:
        statement = statement.where(PartyMember.status == status)
    if current_only:
        statement = statement.where(_current(today()))
    if q:
        statement = statement.where(Person.name.contains(q, autoescape=True))
    return statement.order_by(Person.name, PartyMember.id)
