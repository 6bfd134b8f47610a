"""Liaison use cases: link party members to households and cadres to grids and households, dated."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from grid_svc.access import require_grid_admin
from grid_svc.assignments.models import Assignment, AssignmentRole
from grid_svc.dates import now
from grid_svc.households.models import Household
from grid_svc.households.service import get_household
from grid_svc.liaisons.models import Liaison, LiaisonCreate, LiaisonKind, LiaisonPublic
from grid_svc.party.service import get_member
from grid_svc.people.models import Person
from grid_svc.people.service import get_person
from grid_svc.units.models import Level, Unit
from grid_svc.units.service import get_unit, scope_path_of
from grid_svc.units.shape import keep_tree_shape
from shared.events.grid import LiaisonLinked, LiaisonUnlinked
from shared.identity import Identity
from shared.ids import new_id
from shared.local_time import today
from shared.outbox import emit
from shared.problems import conflict, not_found, unprocessable
from shared.scope import in_subtree, path_in_scope, scope_condition


def current_condition(day: date):  # noqa: ANN201 - a SQL condition
    """Links not ended by `day`."""
    return or_(Liaison.ends_on.is_(None), Liaison.ends_on > day)


async def get_liaison(session: AsyncSession, *, identity: Identity, liaison_id: str) -> Liaison:
    """The link if its unit is in the caller's scope, else 404."""
    row = (await session.execute(select(Liaison, Unit.path).join(Unit, Unit.id == Liaison.unit_id).where(Liaison.id == liaison_id))).first()
    if row is None or not path_in_scope(row[1], identity, await scope_path_of(session, identity)):
        raise not_found("liaison")
    return row[0]


def to_public(link: Liaison, name: str, household_code: str | None, unit_name: str) -> LiaisonPublic:
    """The API shape of a link from loaded rows."""
    return LiaisonPublic(
        id=link.id,
        kind=link.kind,
        person_id=link.person_id,
        name=name,
        member_id=link.member_id,
        household_id=link.household_id,
        household_code=household_code,
        unit_id=link.unit_id,
        unit_name=unit_name,
        starts_on=link.starts_on,
        ends_on=link.ends_on,
    )


def _named() -> Select:
    return (
        select(Liaison, Person.name, Household.code, Unit.name)
        .join(Person, Person.id == Liaison.person_id)
        .join(Unit, Unit.id == Liaison.unit_id)
        .outerjoin(Household, Household.id == Liaison.household_id)
    )


async def liaison_public(session: AsyncSession, link: Liaison) -> LiaisonPublic:
    """The API shape of one link (names looked up)."""
    row = (await session.execute(_named().where(Liaison.id == link.id))).first()
    return to_public(*row)


async def _require_cadre(session: AsyncSession, person: Person, day: date) -> None:
    cadre = await session.scalar(
        select(Assignment.id).where(
            Assignment.person_id == person.id,
            Assignment.role == AssignmentRole.CADRE,
            Assignment.starts_on <= day,
            or_(Assignment.ends_on.is_(None), Assignment.ends_on > day),
        )
    )
    if cadre is None:
        raise unprocessable("the person holds no cadre assignment on that day; assign the role first", code="not_a_cadre", loc=["body", "person_id"])


async def link(session: AsyncSession, *, identity: Identity, data: LiaisonCreate) -> Liaison:
    """Create a link from `starts_on`; emit LiaisonLinked."""
    require_grid_admin(identity)
    await keep_tree_shape(session)
    starts_on = data.starts_on or today()
    member_id = household = None
    if data.kind == LiaisonKind.MEMBER_HOUSEHOLD:
        if data.member_id is None or data.household_id is None:
            raise unprocessable("a member_household link needs member_id and household_id", loc=["body", "member_id"])
        member = await get_member(session, identity=identity, member_id=data.member_id)
        if member.left_on is not None and member.left_on <= starts_on:
            raise unprocessable("the party member has left", code="member_left", loc=["body", "member_id"])
        member_id = member.id
        person = await session.get(Person, member.person_id)
    else:
        if data.person_id is None:
            raise unprocessable(f"a {data.kind.value} link needs person_id", loc=["body", "person_id"])
        person = await get_person(session, identity=identity, person_id=data.person_id)
        await _require_cadre(session, person, starts_on)
    if data.kind == LiaisonKind.CADRE_GRID:
        if data.unit_id is None:
            raise unprocessable("a cadre_grid link needs unit_id (a grid)", loc=["body", "unit_id"])
        unit = await get_unit(session, identity=identity, unit_id=data.unit_id)
        if unit.level != Level.GRID:
            raise unprocessable(f"a cadre is linked to a grid, not a {unit.level.value}", code="invalid_level", loc=["body", "unit_id"])
        if unit.retired_at is not None:
            raise unprocessable("the grid is retired", loc=["body", "unit_id"])
        duplicate = select(Liaison.id).where(Liaison.kind == data.kind, Liaison.person_id == person.id, Liaison.unit_id == unit.id)
    else:
        if data.household_id is None:
            raise unprocessable(f"a {data.kind.value} link needs household_id", loc=["body", "household_id"])
        household = await get_household(session, identity=identity, household_id=data.household_id)
        if household.dissolved_on is not None:
            raise conflict("the household is dissolved", code="dissolved")
        unit = await session.get(Unit, household.unit_id)
        duplicate = select(Liaison.id).where(Liaison.kind == data.kind, Liaison.person_id == person.id, Liaison.household_id == household.id)
    if await session.scalar(duplicate.where(current_condition(starts_on))) is not None:
        raise conflict("this link already exists", code="already_linked")
    moment = now()
    created = Liaison(
        id=new_id(),
        kind=data.kind,
        person_id=person.id,
        member_id=member_id,
        household_id=household.id if household else None,
        unit_id=unit.id,
        starts_on=starts_on,
        created_at=moment,
        updated_at=moment,
    )
    session.add(created)
    emit(
        session,
        LiaisonLinked(
            liaison_id=created.id,
            kind=data.kind.value,
            person_id=person.id,
            name=person.name,
            member_id=member_id,
            household_id=created.household_id,
            unit_id=unit.id,
            unit_path=unit.path,
            starts_on=starts_on,
        ),
    )
    return created


async def unlink(session: AsyncSession, *, identity: Identity, liaison_id: str, ended_on: date | None) -> Liaison:
    """End a link on `ended_on`; emit LiaisonUnlinked."""
    require_grid_admin(identity)
    existing = await get_liaison(session, identity=identity, liaison_id=liaison_id)
    if existing.ends_on is not None:
        raise conflict("the link has already ended", code="already_ended")
    day = ended_on or today()
    if day < existing.starts_on:
        raise unprocessable("ended_on is before the link started", loc=["body", "ended_on"])
    existing.ends_on = day
    existing.updated_at = now()
    emit(
        session,
        LiaisonUnlinked(
            liaison_id=existing.id,
            kind=existing.kind.value,
            person_id=existing.person_id,
            household_id=existing.household_id,
            unit_id=existing.unit_id,
            ended_on=day,
        ),
    )
    return existing


def list_query(
    *,
    identity: Identity,
    scope_path: str | None,
    under: Unit | None,
    kind: LiaisonKind | None,
    person_id: str | None,
    member_id: str | None,
    household_id: str | None,
    current_only: bool,
) -> Select:
    """Links in scope with names, ordered by person name."""
    statement = _named().where(scope_condition(Unit.path, identity, scope_path))
    if under is not None:
        statement = statement.where(in_subtree(Unit.path, under.path))
    if kind is not None:
        statement = statement.where(Liaison.kind == kind)
    if person_id is not None:
        statement = statement.where(Liaison.person_id == person_id)
    if member_id is not None:
        statement = statement.where(Liaison.member_id == member_id)
    if household_id is not None:
        statement = statement.where(Liaison.household_id == household_id)
    if current_only:
        statement = statement.where(Liaison.starts_on <= today(), current_condition(today()))
    return statement.order_by(Person.name, Liaison.kind, Liaison.starts_on, Liaison.id)
