"""Compliance reports: incomplete 1+1+1 teams, cadres below 1 grid / 10 households, micro grids without a
party-member liaison, and the share of households covered by a liaison — each a grouped query under a path.
The summaries answer all their numbers in one statement (one aggregate row per report, joined)."""

from __future__ import annotations

from datetime import date
from functools import cache

from sqlalchemy import ColumnElement, Integer, Select, Subquery, and_, bindparam, case, distinct, exists, func, or_, select, true
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from grid_svc.assignments.models import CORE_ROLES, Assignment, AssignmentPublic, AssignmentRole
from grid_svc.households.models import Household
from grid_svc.liaisons.models import Liaison, LiaisonKind, LiaisonPublic
from grid_svc.party.models import PartyMember, PartyMemberPublic, PartyOrg
from grid_svc.party.service import read_member
from grid_svc.people.models import Person
from grid_svc.reports.models import CadreLoad, ComplianceSummary, IncompleteTeam, MemberSummary, UnitSummary, UnlinkedMicroGrid
from grid_svc.units.models import Level, LevelCounts, Unit, UnitDetail, UnitTally
from grid_svc.units.service import read_unit
from shared.database import Database
from shared.identity import Identity
from shared.local_time import today
from shared.scope import in_named_subtree

MIN_CADRE_GRIDS = 1
MIN_CADRE_HOUSEHOLDS = 10
# Rows listed in a summary (team, roles, liaisons): far more than a unit or person ever holds.
MAX_LISTED = 200

# The statements are built once with named parameters and reused: building one of these costs the
# service several times what the database spends running it. The subtree is shared.scope's named pattern.
_DAY = bindparam("day")
_TODAY = bindparam("today")
_UNIT_ID = bindparam("unit_id")


def _params(under: Unit | Row, day: date) -> dict[str, object]:
    return {"subtree": under.path, "day": day}


def _under(path_column) -> ColumnElement[bool]:  # noqa: ANN001 - a path column
    return in_named_subtree(path_column)


def _in_force(starts, ends, day):  # noqa: ANN001, ANN202 - SQL columns and condition
    return and_(starts <= day, or_(ends.is_(None), ends > day))


def _active_units(level: Level):  # noqa: ANN202 - a list of conditions
    return (_under(Unit.path), Unit.level == level, Unit.retired_at.is_(None))


@cache
def _incomplete_teams() -> Select:
    held = [
        func.max(case((and_(Assignment.role == role, _in_force(Assignment.starts_on, Assignment.ends_on, _DAY)), 1), else_=0)).label(role.value)
        for role in CORE_ROLES
    ]
    statement = (
        select(Unit.id, Unit.code, Unit.full_code, Unit.name, *held)
        .outerjoin(Assignment, Assignment.unit_id == Unit.id)
        .where(*_active_units(Level.GRID))
        .group_by(Unit.id, Unit.code, Unit.full_code, Unit.name, Unit.path)
    )
    complete = and_(*(column == 1 for column in held))
    return statement.having(~complete).order_by(Unit.path)


def incomplete_teams_query(under: Unit, day: date) -> Select:
    """Grids under `under` with, per core role, whether someone holds it on `day` (1/0)."""
    return _incomplete_teams().params(_params(under, day))


def to_incomplete(row) -> IncompleteTeam:  # noqa: ANN001 - a row
    """A row of `incomplete_teams_query` as the API returns it."""
    missing = [role for role in CORE_ROLES if not getattr(row, role.value)]
    return IncompleteTeam(unit_id=row.id, code=row.code, full_code=row.full_code, name=row.name, missing_roles=missing)


@cache
def _cadre_loads(below_minimum_only: bool) -> Select:
    cadre_units = select(Assignment.person_id).join(Unit, Unit.id == Assignment.unit_id).where(
        _under(Unit.path),
        Assignment.role == AssignmentRole.CADRE,
        _in_force(Assignment.starts_on, Assignment.ends_on, _DAY),
    )
    link_in_force = _in_force(Liaison.starts_on, Liaison.ends_on, _DAY)
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


def cadre_loads_query(under: Unit, day: date, *, below_minimum_only: bool) -> Select:
    """Cadres assigned on units under `under` on `day`, with their grid and household link counts."""
    return _cadre_loads(below_minimum_only).params(_params(under, day))


def to_cadre_load(row) -> CadreLoad:  # noqa: ANN001 - a row
    """A row of `cadre_loads_query` as the API returns it."""
    return CadreLoad(person_id=row.id, name=row.name, grids=row.grids, households=row.households)


def _member_liaison_in(unit_id_column):  # noqa: ANN001, ANN202 - SQL
    return exists().where(
        Liaison.household_id == Household.id,
        Household.unit_id == unit_id_column,
        Household.dissolved_on.is_(None),
        Liaison.kind == LiaisonKind.MEMBER_HOUSEHOLD,
        _in_force(Liaison.starts_on, Liaison.ends_on, _DAY),
    )


@cache
def _unlinked_micro_grids() -> Select:
    households = (
        select(func.count()).where(Household.unit_id == Unit.id, Household.dissolved_on.is_(None)).correlate(Unit).scalar_subquery()
    )
    return (
        select(Unit.id, Unit.code, Unit.full_code, Unit.name, households.label("households"))
        .where(*_active_units(Level.MICRO_GRID), ~_member_liaison_in(Unit.id).correlate(Unit))
        .order_by(Unit.path)
    )


def unlinked_micro_grids_query(under: Unit, day: date) -> Select:
    """Micro grids under `under` where no household has a party-member liaison on `day`."""
    return _unlinked_micro_grids().params(_params(under, day))


def to_unlinked(row) -> UnlinkedMicroGrid:  # noqa: ANN001 - a row
    """A row of `unlinked_micro_grids_query` as the API returns it."""
    return UnlinkedMicroGrid(unit_id=row.id, code=row.code, full_code=row.full_code, name=row.name, households=row.households)


def _joined(parts: list[Subquery]) -> Select:
    """One row of every part's columns: each part is a one-row aggregate, so the join is a plain concatenation."""
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.join(part, true())
    return select(*(column for part in parts for column in part.c)).select_from(joined)


def _summary_parts() -> list[Subquery]:
    """The one-row aggregates behind ComplianceSummary, each column labelled by its field.

    Alternatives are spelled with OR, not IN of a list: SQLAlchemy renders a list per execution, and only a
    statement of fixed SQL is handed to the driver (`Database.fetch_one`)."""
    units = (
        select(
            func.count(case((Unit.level == Level.GRID, 1))).label("grids"),
            func.count(case((Unit.level == Level.MICRO_GRID, 1))).label("micro_grids"),
        )
        .where(_under(Unit.path), or_(Unit.level == Level.GRID, Unit.level == Level.MICRO_GRID), Unit.retired_at.is_(None))
        .subquery("unit_counts")
    )
    linked = exists().where(
        Liaison.household_id == Household.id,
        or_(Liaison.kind == LiaisonKind.MEMBER_HOUSEHOLD, Liaison.kind == LiaisonKind.CADRE_HOUSEHOLD),
        _in_force(Liaison.starts_on, Liaison.ends_on, _DAY),
    )
    households = (
        select(func.count().label("households"), func.count(case((linked, 1))).label("households_with_liaison"))
        .select_from(Household)
        .where(_under(Household.unit_path), Household.dissolved_on.is_(None), Household.registered_on <= _DAY)
        .subquery("household_counts")
    )
    teams = (
        select(func.count().label("grids_with_incomplete_team"))
        .select_from(_incomplete_teams().order_by(None).subquery())
        .subquery("team_counts")
    )
    loads = _cadre_loads(False).order_by(None).subquery()
    below = or_(loads.c.grids < MIN_CADRE_GRIDS, loads.c.households < MIN_CADRE_HOUSEHOLDS)
    cadres = select(func.count().label("cadres"), func.count(case((below, 1))).label("cadres_below_minimum")).subquery("cadre_counts")
    unlinked = (
        select(func.count().label("micro_grids_without_member_liaison"))
        .where(*_active_units(Level.MICRO_GRID), ~_member_liaison_in(Unit.id).correlate(Unit))
        .subquery("unlinked_counts")
    )
    return [units, households, teams, cadres, unlinked]


@cache
def _summary() -> Select:
    return _joined(_summary_parts())


def _compliance(under: Unit | Row, day: date, figures: dict[str, int]) -> ComplianceSummary:
    households, covered = figures["households"], figures["households_with_liaison"]
    fields = {name: figures[name] for name in ComplianceSummary.model_fields if name in figures}
    return ComplianceSummary(
        unit_id=under.id, on=day, **fields, liaison_coverage=round(covered / households, 4) if households else 0.0
    )


async def summary(session: AsyncSession, *, under: Unit, day: date) -> ComplianceSummary:
    """The headline numbers of every report under `under`, in one statement."""
    row = (await session.execute(_summary(), _params(under, day))).one()
    return _compliance(under, day, {key: int(value or 0) for key, value in row._mapping.items()})


@cache
def _unit_summary() -> Select:
    """The compliance parts, active units per level strictly under the unit (its tallies), and its current party members."""
    levels = (
        select(*(func.sum(case((UnitTally.level == level.value, UnitTally.units))).label(f"below_{level}") for level in Level))
        .where(UnitTally.unit_id == _UNIT_ID)
        .subquery("level_counts")
    )
    # The unit lies in the caller's scope, so its subtree does too: no scope condition is needed.
    members = (
        select(func.count().label("party_members"))
        .select_from(PartyMember)
        .join(PartyOrg, PartyOrg.id == PartyMember.party_org_id)
        .join(Unit, Unit.id == PartyOrg.unit_id)
        .where(_under(Unit.path), or_(PartyMember.left_on.is_(None), PartyMember.left_on > _TODAY))
        .subquery("member_counts")
    )
    return _joined([*_summary_parts(), levels, members])


async def unit_summary(db: Database, *, identity: Identity, unit_id: str, day: date) -> UnitSummary:
    """The unit, its units per level, current party members, team today and compliance on `day` (404 outside scope).

    Three statements built once: the unit with the caller's scope (`read_unit`), one row of every count, and the team.
    """
    unit = await read_unit(db, identity=identity, unit_id=unit_id)
    params = {**_params(unit, day), "today": today(), "unit_id": unit.id, "listed": MAX_LISTED}
    row = await db.fetch_one(_unit_summary(), params)
    figures = {key: int(value or 0) for key, value in row._mapping.items()}
    # The unit lies in the caller's scope, so do the assignments on it.
    team = await db.fetch_all(_assignments_in_force("unit_id", scoped=False), params)
    return UnitSummary(
        unit=UnitDetail.model_validate(unit, from_attributes=True),
        units_below=LevelCounts(unit_id=unit.id, **{level.value: figures[f"below_{level.value}"] for level in Level}),
        party_members=figures["party_members"],
        team=[AssignmentPublic.model_validate(assignment, from_attributes=True) for assignment in team],
        compliance=_compliance(unit, day, figures),
    )


@cache
def _assignments_in_force(of: str, scoped: bool) -> Select:
    """The role assignments in force `today` of a unit or a person (`of` names the column, bound by that name;
    `subtree` when `scoped`), as the assignment list orders them, at most `listed`."""
    statement = (
        select(Assignment.__table__, Person.name.label("name"), Unit.name.label("unit_name"))
        .join(Person, Person.id == Assignment.person_id)
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(Assignment.__table__.c[of] == bindparam(of), _in_force(Assignment.starts_on, Assignment.ends_on, _TODAY))
    )
    if scoped:
        statement = statement.where(_under(Unit.path))
    return statement.order_by(Unit.path, Assignment.role, Assignment.starts_on, Assignment.id).limit(bindparam("listed", type_=Integer))


@cache
def _liaisons_in_summary(scoped: bool) -> Select:
    """The liaison links in force `today` of the member or of their person (bind `member_id`, `person_id`;
    `subtree` when `scoped`), as the liaison list orders them, at most `listed`."""
    statement = (
        select(Liaison.__table__, Person.name.label("name"), Household.code.label("household_code"), Unit.name.label("unit_name"))
        .join(Person, Person.id == Liaison.person_id)
        .join(Unit, Unit.id == Liaison.unit_id)
        .outerjoin(Household, Household.id == Liaison.household_id)
        .where(
            or_(Liaison.member_id == bindparam("member_id"), Liaison.person_id == bindparam("person_id")),
            _in_force(Liaison.starts_on, Liaison.ends_on, _TODAY),
        )
    )
    if scoped:
        statement = statement.where(_under(Unit.path))
    return statement.order_by(Person.name, Liaison.kind, Liaison.starts_on, Liaison.id).limit(bindparam("listed", type_=Integer))


async def member_summary(db: Database, *, identity: Identity, member_id: str) -> MemberSummary:
    """A party member with their person's roles and the liaisons of the member or person, in force today (404 outside
    scope): three statements built once, the first (`read_member`) checking scope as it reads the member."""
    member = await read_member(db, identity=identity, member_id=member_id)
    scoped = not identity.unrestricted  # the member lies in the caller's scope: its path is known
    params = {"person_id": member.person_id, "today": today(), "listed": MAX_LISTED}
    if scoped:
        params["subtree"] = member.scope_path
    roles = await db.fetch_all(_assignments_in_force("person_id", scoped), params)
    links = await db.fetch_all(_liaisons_in_summary(scoped), {**params, "member_id": member.id})
    return MemberSummary(
        member=PartyMemberPublic.model_validate(member, from_attributes=True),
        roles=[AssignmentPublic.model_validate(role, from_attributes=True) for role in roles],
        liaisons=[LiaisonPublic.model_validate(link, from_attributes=True) for link in links],
    )
