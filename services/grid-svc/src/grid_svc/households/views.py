"""HTTP endpoints for households under `/api/v1/grid/households`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query

from grid_svc.db import platform
from grid_svc.households import service
from grid_svc.households.models import (
    HouseholdCreate,
    HouseholdDissolve,
    HouseholdLocation,
    HouseholdMove,
    HouseholdPlacementPublic,
    HouseholdPublic,
    HouseholdTag,
    HouseholdUpdate,
)
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/grid/households", tags=["households"])


@router.post("", status_code=201, response_model=HouseholdPublic, summary="Register a household")
async def register_household(body: HouseholdCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Register a household in a micro grid (grid workers and admins of the scope).

    A unit that is not a micro grid answers 422 `invalid_level`; a household code already
    registered answers 409 `duplicate_code`.
    """

    async def create(session):
        household = await service.register_household(session, identity=identity, data=body)
        return service.to_public(household, None)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("", response_model=Page[HouseholdPublic], summary="List households in scope")
async def list_households(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: Annotated[str | None, Query(description="only households in this unit's subtree")] = None,
    tag: HouseholdTag | None = None,
    q: Annotated[str | None, Query(max_length=100, description="code or address contains")] = None,
    include_dissolved: bool = False,
) -> Page[HouseholdPublic]:
    """Households in the caller's scope, ordered by code; 404 when `under` is missing or outside the scope."""
    return await service.list_households(
        db, identity=identity, page=page, under=under, tag=tag, q=q, include_dissolved=include_dissolved
    )


@router.get("/{household_id}", response_model=HouseholdPublic, summary="Read a household")
async def read_household(household_id: str, db: DatabaseDep, identity: CurrentIdentity) -> HouseholdPublic:
    """One household; 404 when missing or outside the caller's scope."""
    return await service.read_household(db, identity=identity, household_id=household_id)


@router.patch("/{household_id}", response_model=HouseholdPublic, summary="Update a household")
async def update_household(household_id: str, body: HouseholdUpdate, db: DatabaseDep, identity: CurrentIdentity) -> HouseholdPublic:
    """Change address, size, tags or head of household (the head must be a current member)."""
    async with db.transaction() as session:
        household = await service.update_household(session, identity=identity, household_id=household_id, data=body)
        head_name = await service.head_name(session, household)
    return service.to_public(household, head_name)


@router.post("/{household_id}/move", response_model=HouseholdPublic, summary="Move a household to another micro grid")
async def move_household(household_id: str, body: HouseholdMove, db: DatabaseDep, identity: CurrentIdentity) -> HouseholdPublic:
    """Move a household from `moved_on`; its earlier placement stays in its history."""
    async with db.transaction() as session:
        household = await service.move_household(
            session, identity=identity, household_id=household_id, unit_id=body.unit_id, moved_on=body.moved_on
        )
        head_name = await service.head_name(session, household)
    return service.to_public(household, head_name)


@router.post("/{household_id}/dissolve", response_model=HouseholdPublic, summary="Dissolve a household")
async def dissolve_household(household_id: str, body: HouseholdDissolve, db: DatabaseDep, identity: CurrentIdentity) -> HouseholdPublic:
    """Close a household whose members have all left; it stays readable for history."""
    async with db.transaction() as session:
        household = await service.dissolve_household(session, identity=identity, household_id=household_id, dissolved_on=body.dissolved_on)
    return service.to_public(household, None)


@router.get("/{household_id}/placements", response_model=list[HouseholdPlacementPublic], summary="Placement history")
async def household_placements(household_id: str, db: DatabaseDep, identity: CurrentIdentity) -> list[HouseholdPlacementPublic]:
    """Every micro grid the household belonged to, with dates, oldest first."""
    async with db.session() as session:
        rows = await service.placements(session, identity=identity, household_id=household_id)
    return [HouseholdPlacementPublic.model_validate(p, from_attributes=True) for p in rows]


@router.get("/{household_id}/location", response_model=HouseholdLocation, summary="Where the household was on a day")
async def household_location(
    household_id: str, db: DatabaseDep, identity: CurrentIdentity, on: Annotated[date, Query(description="the day, YYYY-MM-DD")]
) -> HouseholdLocation:
    """The micro grid the household belonged to on `on`, with that grid's path then (for attributing past records)."""
    async with db.session() as session:
        return await service.location_on(session, identity=identity, household_id=household_id, day=on)
