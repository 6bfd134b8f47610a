"""HTTP endpoints for role assignments under `/api/v1/grid/assignments`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from grid_svc.assignments import service
from grid_svc.assignments.models import AssignmentCreate, AssignmentEnd, AssignmentPublic, AssignmentRole
from grid_svc.db import platform
from grid_svc.units.service import get_unit, scope_path_of
from shared.idempotency import IdempotencyDep
from shared.identity import CurrentIdentity
from shared.pagination import Page, PageDep, paginate_rows
from shared.routing import api_router
from shared.service import DatabaseDep

router = api_router(prefix="/api/v1/grid/assignments", tags=["assignments"])


@router.post("", status_code=201, response_model=AssignmentPublic, summary="Assign a role on a unit")
async def assign(body: AssignmentCreate, db: DatabaseDep, identity: CurrentIdentity, idempotency: IdempotencyDep):
    """Give a person a dated role: grid leader / grid worker / grid assistant (one holder each per unit,
    409 `role_taken`), or party member, committee member, volunteer, cadre. A role on a level it does not
    belong to answers 422 `invalid_level`.
    """

    async def create(session):
        assignment = await service.assign(session, identity=identity, data=body)
        return await service.assignment_public(session, assignment)

    return await idempotency.run(db, platform.idempotency, identity, create)


@router.get("", response_model=Page[AssignmentPublic], summary="List role assignments in scope")
async def list_assignments(
    db: DatabaseDep,
    identity: CurrentIdentity,
    page: PageDep,
    under: Annotated[str | None, Query(description="only assignments on units in this subtree")] = None,
    unit_id: Annotated[str | None, Query(max_length=26, description="only on this unit")] = None,
    person_id: Annotated[str | None, Query(max_length=26)] = None,
    role: AssignmentRole | None = None,
    include_ended: bool = False,
) -> Page[AssignmentPublic]:
    """Assignments in force today (all of them with `include_ended`), ordered by unit path and role."""
    async with db.session() as session:
        under_unit = await get_unit(session, identity=identity, unit_id=under) if under else None
        statement = service.list_query(
            identity=identity,
            scope_path=await scope_path_of(session, identity),
            under=under_unit,
            unit_id=unit_id,
            person_id=person_id,
            role=role,
            current_only=not include_ended,
        )
        rows, total = await paginate_rows(session, statement, page)
    return Page(items=[service.to_public(a, n, u) for a, n, u in rows], total=total, page=page.page, per_page=page.per_page)


@router.get("/{assignment_id}", response_model=AssignmentPublic, summary="Read a role assignment")
async def read_assignment(assignment_id: str, db: DatabaseDep, identity: CurrentIdentity) -> AssignmentPublic:
    """One assignment with names."""
    async with db.session() as session:
        assignment = await service.get_assignment(session, identity=identity, assignment_id=assignment_id)
        return await service.assignment_public(session, assignment)


@router.post("/{assignment_id}/end", response_model=AssignmentPublic, summary="End a role assignment")
async def end_assignment(assignment_id: str, body: AssignmentEnd, db: DatabaseDep, identity: CurrentIdentity) -> AssignmentPublic:
    """End the assignment on `ended_on` (default today); it stays in the history."""
    async with db.transaction() as session:
        assignment = await service.end(session, identity=identity, assignment_id=assignment_id, ended_on=body.ended_on)
        return await service.assignment_public(session, assignment)
