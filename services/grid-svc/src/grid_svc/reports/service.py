"""Compliance reports: incomplete 1+1+1 teams, cadres below 1 grid / 10 households, micro grids without a
party-member liaison, and the share of households covered by a liaison — each a grouped query under a path."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, and_, case, distinct, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from grid_svc.assignments.models import CORE_ROLES, Assignment, AssignmentRole
from grid_svc.households.models import Household
from grid_svc.liaisons.models import Liaison, LiaisonKind
from grid_svc.people.models import Person
from grid_svc.reports.models import CadreLoad, ComplianceSummary, IncompleteTeam, UnlinkedMicroGrid
from grid_svc.units.models import Level, Unit
from shared.scope import in_subtree

MIN_CADRE_GRIDS = 1
MIN_CADRE_HOUSEHOLDS = 10


def _in_force(starts, ends, day: date):  # noqa: ANN001, ANN202 - SQL columns and condition
    return and_(starts <= day, or_(ends.is_(None), ends > day))


def _active_units(under: Unit, level: Level):  # noqa: ANN202 - a list of conditions
    return (in_subtree(Unit.path, under.path), Unit.level == level, Unit.retired_at.is_(None))


def incomplete_teams_query(under: Unit, day: date) -> Select:
    """Grids under `under` with, per core role, whether someone holds it on `day` (1/0)."""
    held = [
        func.max(case((and_(Assignment.role == role, _in_force(Assignment.starts_on, Assignment.ends_on, day)), 1), else_=0)).label(role.value)
        for role in CORE_ROLES
    ]
    statement = (
        select(Unit.id, Unit.code, Unit.full_code, Unit.name, *held)
        .outerjoin(Assignment, Assignment.unit_id == Unit.id)
        .where(*_active_units(under, Level.GRID))
        .group_by(Unit.id, Unit.code, Unit.full_code, Unit.name, Unit.path)
    )
    complete = and_(*(column == 1 for column in held))
    return statement.having(~complete).order_by(Unit.path)


def to_incomplete(row) -> IncompleteTeam:  # noqa: ANN001 - a row
    """A row of `incomplete_teams_query` as the API returns it."""
    missing = [role for role in CORE_ROLES if not getattr(row, role.value)]
    return IncompleteTeam(unit_id=row.id, code=row.code, full_code=row.full_code, name=row.name, missing_roles=missing)


def cadre_loads_query(under: Unit, day: date, *, below_minimum_only: bool) -> Select:
    """Cadres assigned on units under `under` on `day`, with their grid and household link counts."""
    cadre_units = select(Assignment.person_id).join(Unit, Unit.id == Assignment.unit_id).where(
        in_subtree(Unit.path, under.path),
        Assignment.role == AssignmentRole.CADRE,
        _in_force(Assignment.starts_on, Assignment.ends_on, day),
    )
    link_in_force = _in_force(Liaison.starts_on, Liaison.ends_on, day)
    grids = func.count(distinct(case((and_(Liaison.kind == LiaisonKind.CADRE_GRID, link_in_force), Liaison.unit_id))))
    households = func.count(distinct(case((and_(Liaison.kind == LiaisonKind.CADRE_HOUSEHOLD, link_in_force), Liaison.household_id))))
    statement = (
        select(Person.id, Person.name, grids.label("grids"), households.label("households"))
        .outerjoin(Liaison, Liaison.person_id == Person.id)
        .where(Person.id.in_(cadre_units))
        .group_by(Person.id, Person.name)
    )
    if below_minimum_only:
        statement = statement.having(or_(grids < MIN_CADRE_GRIDS, households < MIN_CADRE_HOUSEHOLDS))
    return statement.order_by(Person.name, Person.id)


def to_cadre_load(row) -> CadreLoad:  # noqa: ANN001 - a row
    """A row of `cadre_loads_query` as the API returns it."""
    return CadreLoad(person_id=row.id, name=row.name, grids=row.grids, households=row.households)


def _member_liaison_in(unit_id_column, day: date):  # noqa: ANN001, ANN202 - SQL
    return exists().where(
        Liaison.household_id == Household.id,
        Household.unit_id == unit_id_column,
        Household.dissolved_on.is_(None),
        Liaison.kind == LiaisonKind.MEMBER_HOUSEHOLD,
        _in_force(Liaison.starts_on, Liaison.ends_on, day),
    )


def unlinked_micro_grids_query(under: Unit, day: date) -> Select:
    """Micro grids under `under` where no household has a party-member liaison on `day`."""
    households = (
        select(func.count()).where(Household.unit_id == Unit.id, Household.dissolved_on.is_(None)).correlate(Unit).scalar_subquery()
    )
    return (
        select(Unit.id, Unit.code, Unit.full_code, Unit.name, households.label("households"))
        .where(*_active_units(under, Level.MICRO_GRID), ~_member_liaison_in(Unit.id, day).correlate(Unit))
        .order_by(Unit.path)
    )


def to_unlinked(row) -> UnlinkedMicroGrid:  # noqa: ANN001 - a row
    """A row of `unlinked_micro_grids_query` as the API returns it."""
    return UnlinkedMicroGrid(unit_id=row.id, code=row.code, full_code=row.full_code, name=row.name, households=row.households)


async def _count(session: AsyncSession, statement: Select) -> int:
    return int(await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0)


async def summary(session: AsyncSession, *, under: Unit, day: date) -> ComplianceSummary:
    """The headline numbers of every report under `under`."""
    grids = await session.scalar(select(func.count()).select_from(Unit).where(*_active_units(under, Level.GRID)))
    micro_grids = await session.scalar(select(func.count()).select_from(Unit).where(*_active_units(under, Level.MICRO_GRID)))
    household_rows = (
        select(Household.id)
        .join(Unit, Unit.id == Household.unit_id)
        .where(in_subtree(Unit.path, under.path), Household.dissolved_on.is_(None), Household.registered_on <= day)
    )
    households = await _count(session, household_rows)
    linked = exists().where(
        Liaison.household_id == Household.id,
        Liaison.kind.in_([LiaisonKind.MEMBER_HOUSEHOLD, LiaisonKind.CADRE_HOUSEHOLD]),
        _in_force(Liaison.starts_on, Liaison.ends_on, day),
    )
    covered = await _count(session, household_rows.where(linked))
    return ComplianceSummary(
        unit_id=under.id,
        on=day,
        grids=int(grids or 0),
        grids_with_incomplete_team=await _count(session, incomplete_teams_query(under, day)),
        cadres=await _count(session, cadre_loads_query(under, day, below_minimum_only=False)),
        cadres_below_minimum=await _count(session, cadre_loads_query(under, day, below_minimum_only=True)),
        micro_grids=int(micro_grids or 0),
        micro_grids_without_member_liaison=await _count(session, unlinked_micro_grids_query(under, day)),
        households=households,
        households_with_liaison=covered,
        liaison_coverage=round(covered / households, 4) if households else 0.0,
    )
