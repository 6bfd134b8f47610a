"""HTTP endpoints for units under `/api/v1/grid/units`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import RootModel

from grid_svc.db import platform
from grid_svc.units import service
from grid_svc.units.models import (
    Level,
    LevelCounts,
    UnitBatch,
    UnitBoundary,
    UnitCreate,
    UnitDetail,
    UnitMove,
    UnitPlacementPublic,
    UnitPublic,
    UnitRename,
)
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/grid/units", tags=["units"])


class UnitsCreated(RootModel[list[UnitPublic]]):
    """The units a batch created, in the order given."""


@router.post("", status_code=201, response_model=UnitDetail, summary="Create a unit")
async def create_unit(body: UnitCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Add a unit: a county at the root, otherwise the next level under `parent_id`.

    A level that is not the next one of the parent's answers 422 `invalid_level`; a code
    already used by a sibling answers 409 `duplicate_code`.
    """

    async def create(session):
        unit = await service.create_unit(session, identity=identity, data=body)
        return UnitDetail.model_validate(unit)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.post(":batch", status_code=201, response_model=list[UnitPublic], summary="Create many units at once")
async def create_units(body: UnitBatch, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Create up to 5,000 units in one transaction, in order, with the same rules and events as one by one.

    An item's parent is an existing unit (`parent_id`) or an earlier item (`parent_ref` naming its `ref`).
    Any invalid item rejects the whole batch; the error names the item (`units[i]`).
    """

    async def create(session):
        units = await service.create_units(session, identity=identity, items=body.units)
        return UnitsCreated([UnitPublic.model_validate(u) for u in units])

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("", response_model=Page[UnitPublic], summary="List units in scope")
async def list_units(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: Annotated[str | None, Query(description="only units strictly under this unit")] = None,
    level: Level | None = None,
    q: Annotated[str | None, Query(max_length=100, description="name contains")] = None,
    include_retired: bool = False,
) -> Page[UnitPublic]:
    """Units in the caller's scope ordered by path (parents before children)."""
    async with db.session() as session:
        under_unit = await service.get_unit(session, identity=identity, unit_id=under) if under else None
        statement = service.list_units_query(
            identity=identity,
            scope_path=await service.scope_path_of(session, identity),
            under=under_unit,
            level=level,
            name_contains=q,
            include_retired=include_retired,
        )
        total_by_tallies = service.list_units_total(under=under_unit, level=level, name_contains=q, include_retired=include_retired)
        rows, total = await paginate(session, statement, page, count=total_by_tallies)
    return Page(items=[UnitPublic.model_validate(u, from_attributes=True) for u in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/{unit_id}", response_model=UnitDetail, summary="Read a unit")
async def read_unit(unit_id: str, db: DatabaseDep, identity: CurrentIdentity) -> UnitDetail:
    """One unit with its boundary; 404 when missing or outside the caller's scope."""
    return UnitDetail.model_validate(await service.read_unit(db, identity=identity, unit_id=unit_id), from_attributes=True)


@router.patch("/{unit_id}", response_model=UnitPublic, summary="Rename a unit")
async def rename_unit(unit_id: str, body: UnitRename, db: DatabaseDep, identity: CurrentIdentity) -> UnitPublic:
    """Change a unit's name (its code and id stay)."""
    async with db.transaction() as session:
        unit = await service.rename_unit(session, identity=identity, unit_id=unit_id, name=body.name)
    return UnitPublic.model_validate(unit, from_attributes=True)


@router.put("/{unit_id}/boundary", response_model=UnitDetail, summary="Set a unit's boundary")
async def set_boundary(unit_id: str, body: UnitBoundary, db: DatabaseDep, identity: CurrentIdentity) -> UnitDetail:
    """Set (or clear with null) the unit's GeoJSON boundary; the centroid is recomputed."""
    async with db.transaction() as session:
        unit = await service.set_boundary(session, identity=identity, unit_id=unit_id, boundary=body.boundary)
    return UnitDetail.model_validate(unit, from_attributes=True)


@router.post("/{unit_id}/move", response_model=UnitPublic, summary="Move a unit to another parent")
async def move_unit(unit_id: str, body: UnitMove, db: DatabaseDep, identity: CurrentIdentity) -> UnitPublic:
    """Re-parent a unit with its subtree from `moved_on`; the new parent must be of the level above (422 otherwise).

    Every unit of the subtree keeps its earlier position in its placement history.
    """
    async with db.transaction() as session:
        unit = await service.move_unit(session, identity=identity, unit_id=unit_id, parent_id=body.parent_id, moved_on=body.moved_on)
    return UnitPublic.model_validate(unit, from_attributes=True)


@router.post("/{unit_id}/retire", response_model=UnitPublic, summary="Retire a unit")
async def retire_unit(unit_id: str, db: DatabaseDep, identity: CurrentIdentity) -> UnitPublic:
    """Retire a unit whose children are all retired; it stays readable for history."""
    async with db.transaction() as session:
        unit = await service.retire_unit(session, identity=identity, unit_id=unit_id)
    return UnitPublic.model_validate(unit, from_attributes=True)


@router.get("/{unit_id}/ancestors", response_model=list[UnitPublic], summary="Breadcrumb of a unit")
async def unit_ancestors(unit_id: str, db: DatabaseDep, identity: CurrentIdentity) -> list[UnitPublic]:
    """The unit's ancestors from the root down, ending with the unit itself (within scope)."""
    async with db.session() as session:
        units = await service.ancestors(session, identity=identity, unit_id=unit_id)
    return [UnitPublic.model_validate(u, from_attributes=True) for u in units]


@router.get("/{unit_id}/counts", response_model=LevelCounts, summary="Units per level under a unit")
async def unit_level_counts(unit_id: str, db: DatabaseDep, identity: CurrentIdentity) -> LevelCounts:
    """Active units of each level strictly under the unit (the report's 41 / 139 / 431)."""
    return await service.level_counts(db, identity=identity, unit_id=unit_id)


@router.get("/{unit_id}/placements", response_model=list[UnitPlacementPublic], summary="Position history of a unit")
async def unit_placements(unit_id: str, db: DatabaseDep, identity: CurrentIdentity) -> list[UnitPlacementPublic]:
    """Where the unit sat in the tree over time (parent, path, full code), oldest first."""
    async with db.session() as session:
        rows = await service.placements(session, identity=identity, unit_id=unit_id)
    return [UnitPlacementPublic.model_validate(p, from_attributes=True) for p in rows]
