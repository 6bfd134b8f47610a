"""HTTP endpoints for people (`/api/v1/grid/people`) and household membership."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from grid_svc.db import platform
from grid_svc.people import service
from grid_svc.people.models import (
    Gender,
    HouseholdMemberPublic,
    MembershipCreate,
    MembershipEnd,
    PersonCreate,
    PersonDetail,
    PersonPublic,
    PersonUpdate,
)
from grid_svc.units.service import get_unit, scope_path_of
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/grid", tags=["people"])


@router.post("/people", status_code=201, response_model=PersonDetail, summary="Register a person")
async def register_person(body: PersonCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Register a person in a household (`household_id`, with `relation`) or in a unit (`unit_id`).

    ID numbers are checked (format, birth date, check digit); one already registered answers
    409 `duplicate_id_number`.
    """

    async def create(session):
        person = await service.register_person(session, identity=identity, data=body)
        return service.to_detail(person, identity)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("/people", response_model=Page[PersonPublic], summary="List people in scope")
async def list_people(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: Annotated[str | None, Query(description="only people registered in this unit's subtree")] = None,
    household_id: Annotated[str | None, Query(max_length=26)] = None,
    q: Annotated[str | None, Query(max_length=50, description="name contains")] = None,
    gender: Gender | None = None,
) -> Page[PersonPublic]:
    """People in the caller's scope, ordered by name; ID numbers and phones are always masked here."""
    async with db.session() as session:
        under_unit = await get_unit(session, identity=identity, unit_id=under) if under else None
        statement = service.list_people_query(
            identity=identity, scope_path=await scope_path_of(session, identity), under=under_unit, household_id=household_id, q=q, gender=gender
        )
        rows, total = await paginate(session, statement, page)
    return Page(items=[service.to_public(p) for p in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/people/{person_id}", response_model=PersonDetail, summary="Read a person")
async def read_person(person_id: str, db: DatabaseDep, identity: CurrentIdentity) -> PersonDetail:
    """One person; full ID number, phone and birth date only for admins of the scope."""
    async with db.session() as session:
        person = await service.get_person(session, identity=identity, person_id=person_id)
    return service.to_detail(person, identity)


@router.patch("/people/{person_id}", response_model=PersonDetail, summary="Correct a person's details")
async def update_person(person_id: str, body: PersonUpdate, db: DatabaseDep, identity: CurrentIdentity) -> PersonDetail:
    """Change name, gender, birth date, phone or ID number."""
    async with db.transaction() as session:
        person = await service.update_person(session, identity=identity, person_id=person_id, data=body)
    return service.to_detail(person, identity)


@router.get("/households/{household_id}/members", response_model=list[HouseholdMemberPublic], summary="Members of a household")
async def list_members(
    household_id: str, db: DatabaseDep, identity: CurrentIdentity, include_past: bool = False
) -> list[HouseholdMemberPublic]:
    """Current members (and past ones with `include_past`), earliest first."""
    async with db.session() as session:
        rows = await service.members_of(session, identity=identity, household_id=household_id, current_only=not include_past)
    return [HouseholdMemberPublic(**m.model_dump(), name=name) for m, name in rows]


@router.post("/households/{household_id}/members", status_code=201, response_model=HouseholdMemberPublic, summary="Add a member")
async def add_member(household_id: str, body: MembershipCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Add a registered person who belongs to no household now (409 `already_in_household` otherwise)."""

    async def create(session):
        membership = await service.add_member(session, identity=identity, household_id=household_id, data=body)
        person = await service.get_person(session, identity=identity, person_id=membership.person_id)
        return HouseholdMemberPublic(**membership.model_dump(), name=person.name)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.post("/households/{household_id}/members/{person_id}/leave", response_model=HouseholdMemberPublic, summary="A member leaves")
async def end_membership(household_id: str, person_id: str, body: MembershipEnd, db: DatabaseDep, identity: CurrentIdentity) -> HouseholdMemberPublic:
    """End a person's current membership of the household on `left_on` (history is kept)."""
    async with db.transaction() as session:
        membership = await service.end_membership(
            session, identity=identity, household_id=household_id, person_id=person_id, left_on=body.left_on, reason=body.reason
        )
        person = await service.get_person(session, identity=identity, person_id=person_id)
    return HouseholdMemberPublic(**membership.model_dump(), name=person.name)
