"""Read endpoints over the roster copy under `/api/v1/dispatch/roster` (who answers for whom)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import select

from dispatch_svc.access import HANDLERS, scope_path
from dispatch_svc.db import grid
from dispatch_svc.roster.models import Household, Liaison, LiaisonKind, Member, Person
from shared.identity import CurrentIdentity, Identity
from shared.pagination import Page, PageDep, paginate
from shared.problems import Problem, not_found
from shared.routing import api_router
from shared.scope import in_subtree, path_in_scope, scope_condition
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/dispatch/roster", tags=["roster (from grid-svc)"])


class HouseholdPublic(BaseModel):
    """A household as this service knows it."""

    id: str
    unit_id: str
    unit_path: str
    address: str
    head_name: str | None
    dissolved_on: date | None


class PersonPublic(BaseModel):
    """A person as this service knows them, and whether they are a party member now."""

    id: str
    name: str
    household_id: str | None
    unit_id: str | None
    left_on: date | None
    party_member: bool


class LiaisonPublic(BaseModel):
    """A liaison link as this service knows it."""

    id: str
    kind: LiaisonKind
    person_id: str
    name: str
    household_id: str | None
    unit_id: str
    unit_path: str
    starts_on: date
    ended_on: date | None


def _staff_only(identity: Identity) -> None:
    if identity.role not in HANDLERS and not identity.unrestricted:
        raise Problem(403, "forbidden", f"role {identity.role.value} may not read the roster")


@router.get("/households/{household_id}", response_model=HouseholdPublic, summary="A household known to this service")
async def read_household(household_id: str, db: DatabaseDep, identity: CurrentIdentity) -> HouseholdPublic:
    """A household and its micro grid; 404 when unknown or outside scope."""
    _staff_only(identity)
    async with db.session() as session:
        household = await session.get(Household, household_id)
        unit = await grid.get(session, household.unit_id) if household else None
        path = unit.path if unit else (household.unit_path if household else None)
        if household is None or not path_in_scope(path, identity, await scope_path(session, identity)):
            raise not_found("household")
        return HouseholdPublic(
            id=household.id, unit_id=household.unit_id, unit_path=path, address=household.address,
            head_name=household.head_name, dissolved_on=household.dissolved_on,
        )


@router.get("/people/{person_id}", response_model=PersonPublic, summary="A person known to this service")
async def read_person(person_id: str, db: DatabaseDep, identity: CurrentIdentity) -> PersonPublic:
    """A person's name, household and party membership (names only; no personal data)."""
    _staff_only(identity)
    async with db.session() as session:
        person = await session.get(Person, person_id)
        if person is None:
            raise not_found("person")
        member = await session.scalar(select(Member.id).where(Member.person_id == person.id, Member.left_on.is_(None)).limit(1))
    return PersonPublic(
        id=person.id, name=person.name, household_id=person.household_id, unit_id=person.unit_id, left_on=person.left_on, party_member=member is not None
    )


@router.get("/liaisons", response_model=Page[LiaisonPublic], summary="Liaison links known to this service")
async def list_liaisons(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: Annotated[str | None, Query(max_length=26, description="links located in this unit's subtree")] = None,
    household_id: Annotated[str | None, Query(max_length=26)] = None,
    person_id: Annotated[str | None, Query(max_length=26)] = None,
    kind: LiaisonKind | None = None,
    active: Annotated[bool | None, Query(description="only links that have not ended")] = None,
) -> Page[LiaisonPublic]:
    """Who answers for which grids and households, in the caller's scope, ordered by start date."""
    _staff_only(identity)
    async with db.session() as session:
        statement = select(Liaison).where(scope_condition(Liaison.unit_path, identity, await scope_path(session, identity)))
        if under:
            statement = statement.where(in_subtree(Liaison.unit_path, (await grid.get_in_scope(session, identity, under)).path))
        if household_id:
            statement = statement.where(Liaison.household_id == household_id)
        if person_id:
            statement = statement.where(Liaison.person_id == person_id)
        if kind:
            statement = statement.where(Liaison.kind == kind)
        if active is not None:
            statement = statement.where(Liaison.ended_on.is_(None) if active else Liaison.ended_on.is_not(None))
        rows, total = await paginate(session, statement.order_by(Liaison.starts_on, Liaison.id), page)
    return Page(items=[LiaisonPublic.model_validate(r, from_attributes=True) for r in rows], total=total, page=page.page, per_page=page.per_page)
