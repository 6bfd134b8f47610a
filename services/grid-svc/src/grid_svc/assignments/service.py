"""Assignment use cases: give a person a dated role on a unit, end it, list who does what."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from grid_svc.access import require_grid_admin
from grid_svc.assignments.models import CORE_ROLES, ROLE_LEVELS, Assignment, AssignmentCreate, AssignmentPublic, AssignmentRole
from grid_svc.dates import now
from grid_svc.people.models import Person
from grid_svc.people.service import get_person
from grid_svc.units.models import Unit
from grid_svc.units.service import get_unit, scope_path_of
from grid_svc.units.shape import keep_tree_shape
from shared.events.grid import RoleAssigned, RoleEnded
from shared.identity import Identity
from shared.ids import new_id
from shared.local_time import today
from shared.outbox import emit
from shared.problems import conflict, not_found, unprocessable
from shared.scope import in_subtree, path_in_scope, scope_condition


def current_condition(day: date):  # noqa: ANN201 - a SQL condition
    """Assignments not ended by `day` (future starts included: a role cannot be double-booked)."""
    return or_(Assignment.ends_on.is_(None), Assignment.ends_on > day)


async def get_assignment(session: AsyncSession, *, identity: Identity, assignment_id: str) -> Assignment:
    """The assignment if its unit is in the caller's scope, else 404."""
    row = (await session.execute(select(Assignment, Unit.path).join(Unit, Unit.id == Assignment.unit_id).where(Assignment.id == assignment_id))).first()
    if row is None or not path_in_scope(row[1], identity, await scope_path_of(session, identity)):
        raise not_found("assignment")
    return row[0]


async def assignment_public(session: AsyncSession, assignment: Assignment) -> AssignmentPublic:
    """The API shape of one assignment (names looked up)."""
    name = await session.scalar(select(Person.name).where(Person.id == assignment.person_id))
    unit_name = await session.scalar(select(Unit.name).where(Unit.id == assignment.unit_id))
    return to_public(assignment, name, unit_name)


def to_public(assignment: Assignment, name: str, unit_name: str) -> AssignmentPublic:
    """The API shape of an assignment from loaded rows."""
    return AssignmentPublic(
        id=assignment.id,
        unit_id=assignment.unit_id,
        unit_name=unit_name,
        person_id=assignment.person_id,
        name=name,
        role=assignment.role,
        title=assignment.title,
        starts_on=assignment.starts_on,
        ends_on=assignment.ends_on,
    )


async def assign(session: AsyncSession, *, identity: Identity, data: AssignmentCreate) -> Assignment:
    """Give a person a role on a unit from `starts_on`; emit RoleAssigned.

    Core roles (grid leader, grid worker, grid assistant) have one holder per unit at a time.
    """
    require_grid_admin(identity)
    await keep_tree_shape(session)
    unit = await get_unit(session, identity=identity, unit_id=data.unit_id)
    if unit.retired_at is not None:
        raise unprocessable("the unit is retired", loc=["body", "unit_id"])
    if unit.level not in ROLE_LEVELS[data.role]:
        allowed = ", ".join(sorted(level.value for level in ROLE_LEVELS[data.role]))
        raise unprocessable(f"a {data.role.value} is assigned on a {allowed}, not a {unit.level.value}", code="invalid_level", loc=["body", "unit_id"])
    person = await get_person(session, identity=identity, person_id=data.person_id)
    starts_on = data.starts_on or today()
    same = await session.scalar(
        select(Assignment.id).where(
            Assignment.unit_id == unit.id, Assignment.person_id == person.id, Assignment.role == data.role, current_condition(starts_on)
        )
    )
    if same is not None:
        raise conflict("the person already holds this role on this unit", code="already_assigned")
    if data.role in CORE_ROLES:
        holder = await session.scalar(
            select(Assignment.id).where(Assignment.unit_id == unit.id, Assignment.role == data.role, current_condition(starts_on))
        )
        if holder is not None:
            raise conflict(f"the unit already has a {data.role.value}; end that assignment first", code="role_taken")
    moment = now()
    assignment = Assignment(
        id=new_id(),
        unit_id=unit.id,
        person_id=person.id,
        role=data.role,
        title=data.title,
        starts_on=starts_on,
        created_at=moment,
        updated_at=moment,
    )
    session.add(assignment)
    emit(
        session,
        RoleAssigned(
            assignment_id=assignment.id,
            unit_id=unit.id,
            unit_path=unit.path,
            person_id=person.id,
            name=person.name,
            role=data.role.value,
            starts_on=starts_on,
        ),
    )
    return assignment


async def end(session: AsyncSession, *, identity: Identity, assignment_id: str, ended_on: date | None) -> Assignment:
    """End an assignment on `ended_on`; emit RoleEnded."""
    require_grid_admin(identity)
    assignment = await get_assignment(session, identity=identity, assignment_id=assignment_id)
    if assignment.ends_on is not None:
        raise conflict("the assignment has already ended", code="already_ended")
    day = ended_on or today()
    if day < assignment.starts_on:
        raise unprocessable("ended_on is before the assignment started", loc=["body", "ended_on"])
    assignment.ends_on = day
    assignment.updated_at = now()
    emit(
        session,
        RoleEnded(assignment_id=assignment.id, unit_id=assignment.unit_id, person_id=assignment.person_id, role=assignment.role.value, ended_on=day),
    )
    return assignment


def list_query(
    *,
    identity: Identity,
    scope_path: str | None,
    under: Unit | None,
    unit_id: str | None,
    person_id: str | None,
    role: AssignmentRole | None,
    current_only: bool,
) -> Select:
    """Assignments in scope with names, ordered by unit path then role."""
    statement = (
        select(Assignment, Person.name, Unit.name)
        .join(Person, Person.id == Assignment.person_id)
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(scope_condition(Unit.path, identity, scope_path))
    )
    if under is not None:
        statement = statement.where(in_subtree(Unit.path, under.path))
    if unit_id is not None:
        statement = statement.where(Assignment.unit_id == unit_id)
    if person_id is not None:
        statement = statement.where(Assignment.person_id == person_id)
    if role is not None:
        statement = statement.where(Assignment.role == role)
    if current_only:
        statement = statement.where(Assignment.starts_on <= today(), current_condition(today()))
    return statement.order_by(Unit.path, Assignment.role, Assignment.starts_on, Assignment.id)
