"""Person use cases: register, correct, join and leave households; personal data masked unless needed."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from grid_svc.access import require_registry_writer, sees_personal_data
from grid_svc.dates import now
from grid_svc.households.models import Household
from grid_svc.households.service import emit_household_updated, get_household
from grid_svc.people.models import (
    Gender,
    HouseholdMember,
    MembershipCreate,
    Person,
    PersonCreate,
    PersonDetail,
    PersonPublic,
    PersonUpdate,
    Relation,
)
from grid_svc.units.models import Unit
from grid_svc.units.service import get_unit, scope_path_of
from grid_svc.units.shape import keep_tree_shape
from shared.events.grid import PersonJoined, PersonLeft
from shared.identity import Identity
from shared.ids import new_id
from shared.local_time import today
from shared.outbox import emit
from shared.personal_data import mask_id_number, mask_phone
from shared.problems import conflict, not_found, unprocessable
from shared.scope import in_subtree, list_place, path_in_scope, scope_condition, town_of


async def get_person(session: AsyncSession, *, identity: Identity, person_id: str) -> Person:
    """The person if registered in the caller's scope, else 404."""
    row = (await session.execute(select(Person, Unit.path).join(Unit, Unit.id == Person.unit_id).where(Person.id == person_id))).first()
    if row is None or not path_in_scope(row[1], identity, await scope_path_of(session, identity)):
        raise not_found("person")
    return row[0]


def to_public(person: Person) -> PersonPublic:
    """A person as lists show them: always masked."""
    return PersonPublic(
        id=person.id,
        name=person.name,
        gender=person.gender,
        birth_year=person.birth_date.year if person.birth_date else None,
        unit_id=person.unit_id,
        household_id=person.household_id,
        phone=mask_phone(person.phone),
        id_number=mask_id_number(person.id_number),
        created_at=person.created_at,
        updated_at=person.updated_at,
    )


def to_detail(person: Person, identity: Identity) -> PersonDetail:
    """One person: full personal data only for callers whose role needs it."""
    full = sees_personal_data(identity)
    return PersonDetail(
        **to_public(person).model_dump(exclude={"phone", "id_number"}),
        phone=person.phone if full else mask_phone(person.phone),
        id_number=person.id_number if full else mask_id_number(person.id_number),
        birth_date=person.birth_date if full else None,
        personal_data_masked=not full,
    )


async def _id_number_taken(session: AsyncSession, id_number: str | None, except_id: str | None = None) -> bool:
    if not id_number:
        return False
    statement = select(Person.id).where(Person.id_number == id_number)
    if except_id:
        statement = statement.where(Person.id != except_id)
    return (await session.scalar(statement)) is not None


async def register_person(session: AsyncSession, *, identity: Identity, data: PersonCreate) -> Person:
    """Register a person in a household or a unit; emit PersonJoined."""
    require_registry_writer(identity)
    await keep_tree_shape(session)
    household = None
    if data.household_id is not None:
        household = await get_household(session, identity=identity, household_id=data.household_id)
        if household.dissolved_on is not None:
            raise conflict("the household is dissolved", code="dissolved")
        unit = await session.get(Unit, household.unit_id)
    elif data.unit_id is not None:
        unit = await get_unit(session, identity=identity, unit_id=data.unit_id)
    else:
        raise unprocessable("give household_id or unit_id", loc=["body", "unit_id"])
    if await _id_number_taken(session, data.id_number):
        raise conflict("a person with this ID number is already registered", code="duplicate_id_number")
    moment = now()
    person = Person(
        id=new_id(),
        name=data.name,
        gender=data.gender,
        birth_date=data.birth_date,
        phone=data.phone,
        id_number=data.id_number,
        unit_id=unit.id,
        town_unit_id=town_of(unit.path),
        created_at=moment,
        updated_at=moment,
    )
    session.add(person)
    if household is None:
        emit(session, PersonJoined(person_id=person.id, name=person.name, unit_id=unit.id, unit_path=unit.path))
    else:
        await session.flush()
        await _join(session, person=person, household=household, unit=unit, relation=data.relation or Relation.OTHER, joined_on=data.joined_on)
    return person


async def _join(session: AsyncSession, *, person: Person, household: Household, unit: Unit, relation: Relation, joined_on: date | None) -> HouseholdMember:
    membership = HouseholdMember(
        id=new_id(), household_id=household.id, person_id=person.id, relation=relation, joined_on=joined_on or today()
    )
    session.add(membership)
    person.household_id = household.id
    person.unit_id, person.town_unit_id = household.unit_id, household.town_unit_id
    person.updated_at = now()
    if relation == Relation.HEAD and household.head_person_id is None:
        household.head_person_id = person.id
        household.updated_at = now()
        await session.flush()
        await emit_household_updated(session, household)
    emit(session, PersonJoined(person_id=person.id, name=person.name, household_id=household.id, unit_id=unit.id, unit_path=unit.path))
    return membership


async def update_person(session: AsyncSession, *, identity: Identity, person_id: str, data: PersonUpdate) -> Person:
    """Correct a person's name, gender, birth date, phone or ID number."""
    require_registry_writer(identity)
    person = await get_person(session, identity=identity, person_id=person_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name", "") is None:
        raise unprocessable("name must not be null", loc=["body", "name"])
    if "id_number" in changes and await _id_number_taken(session, changes["id_number"], except_id=person.id):
        raise conflict("a person with this ID number is already registered", code="duplicate_id_number")
    for field, value in changes.items():
        setattr(person, field, value)
    if changes:
        person.updated_at = now()
    return person


async def add_member(session: AsyncSession, *, identity: Identity, household_id: str, data: MembershipCreate) -> HouseholdMember:
    """Add a registered person (in no household now) to a household; emit PersonJoined."""
    require_registry_writer(identity)
    await keep_tree_shape(session)
    household = await get_household(session, identity=identity, household_id=household_id)
    if household.dissolved_on is not None:
        raise conflict("the household is dissolved", code="dissolved")
    person = await get_person(session, identity=identity, person_id=data.person_id)
    if person.household_id is not None:
        raise conflict("the person belongs to a household; they must leave it first", code="already_in_household")
    unit = await session.get(Unit, household.unit_id)
    return await _join(session, person=person, household=household, unit=unit, relation=data.relation, joined_on=data.joined_on)


async def end_membership(
    session: AsyncSession, *, identity: Identity, household_id: str, person_id: str, left_on: date | None, reason: str | None
) -> HouseholdMember:
    """A member leaves the household on `left_on`; emit PersonLeft."""
    require_registry_writer(identity)
    household = await get_household(session, identity=identity, household_id=household_id)
    membership = await session.scalar(
        select(HouseholdMember).where(
            HouseholdMember.household_id == household.id, HouseholdMember.person_id == person_id, HouseholdMember.left_on.is_(None)
        )
    )
    if membership is None:
        raise not_found("current membership")
    day = left_on or today()
    if day < membership.joined_on:
        raise unprocessable("left_on is before the person joined", loc=["body", "left_on"])
    membership.left_on = day
    membership.left_reason = reason
    person = await session.get(Person, person_id)
    person.household_id = None
    person.updated_at = now()
    if household.head_person_id == person_id:
        household.head_person_id = None
        household.updated_at = now()
        await emit_household_updated(session, household)
    emit(session, PersonLeft(person_id=person_id, household_id=household.id, left_on=day, reason=reason))
    return membership


async def members_of(session: AsyncSession, *, identity: Identity, household_id: str, current_only: bool) -> list[tuple[HouseholdMember, str]]:
    """Memberships of a household with member names, earliest first."""
    household = await get_household(session, identity=identity, household_id=household_id)
    statement = (
        select(HouseholdMember, Person.name)
        .join(Person, Person.id == HouseholdMember.person_id)
        .where(HouseholdMember.household_id == household.id)
        .order_by(HouseholdMember.joined_on, HouseholdMember.id)
    )
    if current_only:
        statement = statement.where(HouseholdMember.left_on.is_(None))
    return [(m, name) for m, name in (await session.execute(statement)).all()]


def list_people_query(
    *,
    identity: Identity,
    scope_path: str | None,
    under: Unit | None,
    household_id: str | None,
    q: str | None,
    gender: Gender | None,
) -> Select:
    """People registered in scope, ordered by name; `under` (already checked to lie in the caller's scope) narrows
    them to its subtree."""
    if under is not None and list_place(under.path)[0] == "town":
        # A town's people are one range of its own index, in list order. Under the town's path range the planner
        # joins every person of the county to the town's units and sorts the town's people to cut each page.
        statement = select(Person).where(Person.town_unit_id == under.id)
    else:
        statement = select(Person).join(Unit, Unit.id == Person.unit_id).where(scope_condition(Unit.path, identity, scope_path))
        if under is not None:
            statement = statement.where(in_subtree(Unit.path, under.path))
    if household_id is not None:
        statement = statement.where(Person.household_id == household_id)
    if q:
        statement = statement.where(Person.name.contains(q, autoescape=True))
    if gender is not None:
        statement = statement.where(Person.gender == gender)
    return statement.order_by(Person.name, Person.id)
